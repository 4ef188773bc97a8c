//! Anything that parses must print to text that parses back to the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(expr) = connectwise_conditions::parse(text) {
        let printed = expr.to_string();
        assert_eq!(
            connectwise_conditions::parse(&printed).as_ref(),
            Ok(&expr),
            "{text:?} printed as {printed:?}"
        );
    }
});

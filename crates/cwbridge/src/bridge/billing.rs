//! `cwbridge billing plan|apply|undo`: the plan in words, and carrying it out with a spinner.

use super::*;
use cwbridge_engine::billing::undo::UndoPlan;

/// `cwbridge billing plan|apply|undo`.
#[derive(Debug, Args)]
pub struct BillingCmd {
    #[command(flatten)]
    engine: EngineArgs,
    #[command(subcommand)]
    action: BillingAction,
}

#[derive(Debug, Subcommand)]
enum BillingAction {
    /// Show what apply would change, writing nothing.
    Plan(RunArgs),
    /// Carry the plan out.
    Apply(RunArgs),
    /// Undo a run: show the inverse of each change it made (and the lines left alone, with
    /// why); carry it out with --yes.
    Undo(UndoArgs),
}

/// What `undo` takes.
#[derive(Debug, Args)]
struct UndoArgs {
    /// The tenant, by name.
    #[arg(long)]
    tenant: String,
    /// The run to undo (its id, as `cwbridge billing apply` and the Billing page show it).
    #[arg(long)]
    run: i64,
    /// Carry the undo out; without it, only the plan is shown.
    #[arg(long)]
    yes: bool,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

/// What `plan` and `apply` both take.
#[derive(Debug, Args)]
struct RunArgs {
    /// The tenant, by name.
    #[arg(long)]
    tenant: String,
    /// Read every agreement with lines: finds hand edits everywhere, so apply carries out drift
    /// corrections and follows replaced agreements.
    #[arg(long)]
    full: bool,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

fn describe(change: &cwbridge_engine::billing::Change) -> String {
    use cwbridge_engine::billing::Change;
    match change {
        Change::Create { line, amount } => format!(
            "create  {:<40} agreement #{:<6} qty {:>5} {:>10.2}  {}",
            line.key, line.agreement_id, line.quantity, amount, line.bill_customer
        ),
        Change::Update {
            line,
            addition_id,
            from_quantity,
            amount,
            ..
        } => format!(
            "update  {:<40} addition #{addition_id:<6} qty {from_quantity} -> {} {:>10.2}",
            line.key, line.quantity, amount
        ),
        Change::Cancel {
            key,
            addition_id,
            quantity,
            ..
        } => {
            format!("cancel  {key:<40} addition #{addition_id:<6} qty {quantity}")
        }
        Change::Adopt {
            line, addition_id, ..
        } => {
            format!(
                "adopt   {:<40} addition #{addition_id} (found by its marker)",
                line.key
            )
        }
        Change::Drift {
            key,
            addition_id,
            ours,
            theirs,
            resolution,
        } => format!(
            "drift   {key:<40} addition #{addition_id:<6} ours qty {} / ConnectWise qty {} ({resolution:?})",
            ours.0, theirs.0
        ),
    }
}

/// A spinner on standard error while something long runs, when that is a terminal (hidden
/// otherwise, so scripts and logs get no control characters).
fn spinner(message: &'static str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner().with_message(message);
    bar.set_draw_target(ProgressDrawTarget::stderr());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// A progress bar for a run's changes, drawn on `bar` once the number of changes is known.
fn counting(bar: &ProgressBar) -> impl Fn(usize, usize) + Sync + '_ {
    move |done, total| {
        if bar.length() != Some(total as u64) {
            bar.set_length(total as u64);
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} changes, {per_sec}, {eta} left")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
        }
        bar.set_position(done as u64);
    }
}

/// Exit 3 when some changes failed.
fn unfinished(failed: &[String], retry: &str) -> anyhow::Result<()> {
    if failed.is_empty() {
        return Ok(());
    }
    Err(crate::Unfinished(format!("{} change(s) failed; {retry}", failed.len())).into())
}

/// Prints an undo's plan in words.
fn print_undo(plan: &UndoPlan) {
    for step in &plan.changes {
        println!("{}", describe(&step.change));
    }
    for s in &plan.skipped {
        let addition = s
            .addition_id
            .map(|a| format!(" (addition #{a})"))
            .unwrap_or_default();
        println!("left    {}{addition}: {}", s.key, s.reason);
    }
}

/// Runs `cwbridge billing …`.
pub async fn billing(cmd: BillingCmd) -> anyhow::Result<()> {
    let engine = cmd.engine.open().await?;
    let result = billing_with(&engine, cmd.action).await;
    // What ConnectWise refused is on the health page, also after this process ends.
    engine.flush_failures().await;
    result
}

async fn billing_with(engine: &Engine, action: BillingAction) -> anyhow::Result<()> {
    match action {
        BillingAction::Plan(RunArgs { tenant, full, json }) => {
            let t = engine.tenant_named(&tenant).await?;
            let spinner = spinner("planning: reading ConnectWise");
            let plan = engine.billing_plan(t.id, full).await;
            spinner.finish_and_clear();
            let plan = plan?;
            if json {
                println!("{}", serde_json::to_string_pretty(&plan)?);
                return Ok(());
            }
            for change in &plan.changes {
                println!("{}", describe(change));
            }
            for p in &plan.problems {
                println!("problem {}: {}", p.account, p.message);
            }
            println!(
                "{} change(s); {} line(s) wanted, {:.2} billable; {} request(s) to ConnectWise",
                plan.changes.len(),
                plan.lines,
                plan.billable_total,
                plan.requests
            );
        }
        BillingAction::Apply(RunArgs { tenant, full, json }) => {
            let t = engine.tenant_named(&tenant).await?;
            let bar = spinner("planning: reading ConnectWise");
            let report = engine.billing_apply_with(t.id, full, &counting(&bar)).await;
            bar.finish_and_clear();
            let report = report?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for change in &report.plan.changes {
                    println!("{}", describe(change));
                }
                println!("run {}: {:?}", report.run_id, report.done);
                for f in &report.failed {
                    println!("failed: {f}");
                }
            }
            unfinished(&report.failed, "run apply again to retry them")?;
        }
        BillingAction::Undo(UndoArgs {
            tenant,
            run,
            yes: false,
            json,
        }) => {
            let t = engine.tenant_named(&tenant).await?;
            let spinner = spinner("planning: reading ConnectWise");
            let plan = engine.billing_undo_plan(t.id, run).await;
            spinner.finish_and_clear();
            let plan = plan?;
            if json {
                println!("{}", serde_json::to_string_pretty(&plan)?);
                return Ok(());
            }
            print_undo(&plan);
            println!(
                "{} change(s) undo run {run}, {} line(s) left alone; {} request(s) to ConnectWise. \
                 Add --yes to carry the undo out.",
                plan.changes.len(),
                plan.skipped.len(),
                plan.requests
            );
        }
        BillingAction::Undo(UndoArgs {
            tenant, run, json, ..
        }) => {
            let t = engine.tenant_named(&tenant).await?;
            let bar = spinner("planning: reading ConnectWise");
            let report = engine.billing_undo_with(t.id, run, &counting(&bar)).await;
            bar.finish_and_clear();
            let report = report?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_undo(&report.plan);
                println!("run {} undid run {run}: {:?}", report.run_id, report.done);
                for f in &report.failed {
                    println!("failed: {f}");
                }
            }
            unfinished(&report.failed, "undo the run again to retry them")?;
        }
    }
    Ok(())
}

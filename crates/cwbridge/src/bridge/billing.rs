//! `cwbridge billing plan|apply`: the plan in words, and carrying it out with a spinner.

use super::*;

/// `cwbridge billing plan|apply`.
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
            let report = engine
                .billing_apply_with(t.id, full, &|done, total| {
                    if bar.length() != Some(total as u64) {
                        bar.set_length(total as u64);
                        bar.set_style(
                            ProgressStyle::with_template(
                                "{bar:40} {pos}/{len} changes, {per_sec}, {eta} left",
                            )
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                        );
                    }
                    bar.set_position(done as u64);
                })
                .await;
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
            if !report.failed.is_empty() {
                return Err(crate::Unfinished(format!(
                    "{} change(s) failed; run apply again to retry them",
                    report.failed.len()
                ))
                .into());
            }
        }
    }
    Ok(())
}

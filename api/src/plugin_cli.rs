//! `bellwether plugin check|run|test`: the rule author's tools, on the same host code (and the
//! same limits) as the server.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use bellwether_rules::engine::run_metered;
use bellwether_rules::plugin::fixture::{self, Fixture};
use bellwether_rules::plugin::{Limits, PluginHost, PluginRule};
use bellwether_rules::{ParamKind, ParamValue, Params, Rule};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Check a component as an upload would: size, imports, WIT version, exports, metadata.
    Check {
        /// The component (.wasm).
        file: PathBuf,
    },
    /// Run a component on a snapshot fixture (JSON) and print its findings and costs.
    Run {
        /// The component (.wasm).
        file: PathBuf,
        /// The snapshot fixture.
        #[arg(long)]
        snapshot: PathBuf,
        /// A parameter, key=value (repeatable; overrides the fixture's `params`).
        #[arg(long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
    },
    /// Run a component on every fixture (*.json) of a folder and compare with their `expect`.
    Test {
        /// The component (.wasm).
        file: PathBuf,
        /// The folder of fixtures.
        fixtures: PathBuf,
    },
}

fn compile(file: &Path, limits: &Limits) -> anyhow::Result<(Arc<PluginHost>, Arc<PluginRule>, usize)> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let host = PluginHost::new(limits.clone()).map_err(|e| anyhow::anyhow!("starting the plugin host: {e:#}"))?;
    let rule = host.compile(&bytes).map_err(|e| anyhow::anyhow!("{}: refused ({}): {e}", file.display(), e.kind()))?;
    Ok((host, rule, bytes.len()))
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

fn params_for(rule: &PluginRule, fixture: &Fixture, extra: &[String]) -> anyhow::Result<Params> {
    let mut overrides = fixture.params.clone();
    for p in extra {
        let (k, v) = p.split_once('=').with_context(|| format!("--param {p}: expected KEY=VALUE"))?;
        let spec = rule.meta().params.iter().find(|s| s.key == k).with_context(|| format!("no parameter '{k}'"))?;
        let value = match spec.kind {
            ParamKind::Number { .. } => {
                ParamValue::Number(v.parse().with_context(|| format!("--param {k}: not a number"))?)
            }
            ParamKind::Text | ParamKind::Metric => ParamValue::Text(v.to_owned()),
        };
        overrides.insert(k.to_owned(), value);
    }
    Params::resolve(rule.meta(), &overrides).map_err(|problems| {
        anyhow::anyhow!(
            "invalid parameters: {}",
            problems.iter().map(|(k, m)| format!("{k}: {m}")).collect::<Vec<_>>().join("; ")
        )
    })
}

fn read_fixture(path: &Path) -> anyhow::Result<Fixture> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Fixture::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Runs a `plugin` subcommand.
pub fn run(command: PluginCommand, limits: Limits) -> anyhow::Result<()> {
    match command {
        PluginCommand::Check { file } => {
            let (host, rule, size) = compile(&file, &limits)?;
            let m = rule.meta();
            println!("ok: {} accepted", file.display());
            println!("  rule        {} ({}), category {}", m.key, m.name, m.category);
            println!("  contract    bellwether:rules@{}", rule.wit_version);
            println!("  sha256      {}", rule.sha256);
            println!("  size        {size} bytes of {} allowed", host.limits().max_component_bytes);
            println!("  inputs      {:?}, {} days back", m.inputs, m.lookback_days);
            if !rule.metrics.is_empty() {
                println!("  metrics     {}", rule.metrics.join(", "));
            }
            for p in &m.params {
                println!("  param       {} = {}: {}", p.key, serde_json::to_string(&p.default)?, p.description);
            }
            Ok(())
        }
        PluginCommand::Run { file, snapshot, params } => {
            let (host, rule, size) = compile(&file, &limits)?;
            let fixture = read_fixture(&snapshot)?;
            let params = params_for(&rule, &fixture, &params)?;
            let started = Instant::now();
            let (result, usage) = run_metered(rule.as_ref(), &fixture.snapshot(), &params);
            let elapsed = started.elapsed();
            let usage = usage.unwrap_or_default();
            let limits = host.limits();
            for line in &usage.logs {
                println!("log: {line}");
            }
            match &result {
                Ok(e) => {
                    println!("{} finding(s)", e.findings.len());
                    println!("{}", serde_json::to_string_pretty(&e.findings)?);
                    if !e.observations.is_empty() {
                        println!("observations: {}", serde_json::to_string(&e.observations)?);
                    }
                }
                Err(e) => println!("failed ({}): {e}", e.kind()),
            }
            println!(
                "instructions {} of {} ({:.2}%); peak memory {} of {}; size {size} of {} bytes; {:.3} ms",
                usage.fuel,
                limits.fuel,
                usage.fuel as f64 * 100.0 / limits.fuel as f64,
                mib(usage.peak_memory),
                mib(limits.memory_bytes as u64),
                limits.max_component_bytes,
                elapsed.as_secs_f64() * 1000.0,
            );
            if result.is_err() {
                bail!("the rule failed");
            }
            Ok(())
        }
        PluginCommand::Test { file, fixtures } => {
            let (_host, rule, _) = compile(&file, &limits)?;
            let mut paths: Vec<PathBuf> = std::fs::read_dir(&fixtures)
                .with_context(|| format!("reading {}", fixtures.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            paths.sort();
            if paths.is_empty() {
                bail!("no fixtures (*.json) in {}", fixtures.display());
            }
            let mut failed = 0;
            for path in &paths {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let outcome = (|| -> anyhow::Result<Vec<String>> {
                    let fixture = read_fixture(path)?;
                    let expected = fixture.expect.as_ref().context("the fixture has no `expect` list")?;
                    let params = params_for(&rule, &fixture, &[])?;
                    let (result, usage) = run_metered(rule.as_ref(), &fixture.snapshot(), &params);
                    let e = result.map_err(|e| anyhow::anyhow!("failed ({}): {e}", e.kind()))?;
                    let mut problems = fixture::compare(expected, &e.findings);
                    if problems.is_empty() {
                        println!(
                            "ok    {name} ({} finding(s), {} instructions)",
                            e.findings.len(),
                            usage.unwrap_or_default().fuel
                        );
                    }
                    problems.iter_mut().for_each(|p| p.insert_str(0, "      "));
                    Ok(problems)
                })();
                match outcome {
                    Ok(problems) if problems.is_empty() => {}
                    Ok(problems) => {
                        failed += 1;
                        println!("FAIL  {name}");
                        problems.iter().for_each(|p| println!("{p}"));
                    }
                    Err(e) => {
                        failed += 1;
                        println!("FAIL  {name}: {e:#}");
                    }
                }
            }
            println!("{} fixture(s), {} passed, {failed} failed", paths.len(), paths.len() - failed);
            if failed > 0 {
                bail!("{failed} fixture(s) failed");
            }
            Ok(())
        }
    }
}

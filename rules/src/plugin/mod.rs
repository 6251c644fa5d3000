//! Organisations' own risk rules, as sandboxed WebAssembly components run in wasmtime.
//!
//! One [`PluginHost`] per process holds the wasmtime engine (Cranelift, pooling allocator with
//! copy-on-write memory images), the linker and a cache of compiled plugins keyed by the
//! component's sha256. [`PluginHost::compile`] is the upload pipeline: size cap, binary kind,
//! allowed imports, supported WIT version, exports type-checked, a test instantiation that reads
//! the rule's metadata, and the metadata validated. A compiled plugin is a [`PluginRule`]: a
//! [`Rule`] like the built-ins, so the engine turns its findings into risks the same way.
//!
//! Every evaluation gets a fresh `Store` (nothing carries over from one account to the next)
//! with an instruction budget (fuel), a wall-clock deadline (epochs, ticked by a thread of the
//! host), a memory limit, a bounded log and a deterministic, capability-free WASI context: a
//! fixed clock, a seeded random generator, no environment, no arguments, no files, no network.
//! Components importing anything beyond that set are refused at upload, and the linker offers
//! nothing else either.

pub mod fixture;
pub mod v0_1_0;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap, WasmBacktrace};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::{AccountSnapshot, Evaluation, ParamKind, Params, Rule, RuleError, RuleMeta, Usage};

/// WIT versions this host runs, newest first.
pub const SUPPORTED_WIT_VERSIONS: &[&str] = &[v0_1_0::VERSION];

/// Interfaces a component may import (any version): the rule world's own, and the parts of WASI
/// a language runtime needs to start, all of them inert here.
const ALLOWED_IMPORTS: &[&str] = &[
    "bellwether:rules/types",
    "bellwether:rules/host",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:clocks/wall-clock",
    "wasi:clocks/monotonic-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
];

/// Interfaces accepted with [`Limits::inert_system_imports`]: provided, but granting nothing.
const INERT_IMPORTS: &[&str] = &[
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
    "wasi:sockets/network",
    "wasi:sockets/instance-network",
    "wasi:sockets/ip-name-lookup",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
];

/// What a plugin may use.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Component size in bytes.
    pub max_component_bytes: usize,
    /// Instructions (fuel) per evaluation.
    pub fuel: u64,
    /// Wall-clock time per evaluation (the backstop behind fuel).
    pub timeout: Duration,
    /// Linear memory per evaluation.
    pub memory_bytes: usize,
    /// Log bytes kept per evaluation (the rest is counted).
    pub log_bytes: usize,
    /// Also accept components importing `wasi:filesystem` and `wasi:sockets`, which the host
    /// provides inert (no preopened directory, every network operation denied). Language
    /// runtimes such as CPython import them whether or not a rule uses them. Off by default:
    /// a Rust rule importing them is almost always a mistake best caught at upload.
    pub inert_system_imports: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_component_bytes: 8 << 20,
            fuel: 50_000_000,
            timeout: Duration::from_secs(1),
            memory_bytes: 64 << 20,
            log_bytes: 16 << 10,
            inert_system_imports: false,
        }
    }
}

/// Why a component was refused. The message is written for the rule's author.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PluginError {
    #[error("the component is {size} bytes; at most {max} are accepted")]
    TooLarge { size: usize, max: usize },
    #[error("not a WebAssembly binary (it does not start with the \\0asm header)")]
    NotWasm,
    #[error(
        "a core WebAssembly module, not a component: build the rule with `cargo build --target wasm32-wasip2` (the bellwether-rule SDK) or wrap the module with `wasm-tools component new`"
    )]
    CoreModule,
    #[error("the component is not valid: {0}")]
    Invalid(String),
    #[error("the component imports {0}, which rules may not use (rules get no files, network, or other host access)")]
    ForbiddenImport(String),
    #[error("the component was built against bellwether:rules@{found}; this server runs {supported}")]
    UnsupportedVersion { found: String, supported: String },
    #[error(
        "the component does not implement the bellwether:rules world (it imports no bellwether:rules interface); build it with the bellwether-rule SDK"
    )]
    NotARule,
    #[error("the component's exports do not match bellwether:rules@{version}: {message}")]
    WrongExports { version: String, message: String },
    #[error("the test instantiation failed: {0}")]
    Instantiation(String),
    #[error("invalid metadata: {field}: {message}")]
    Metadata { field: String, message: String },
}

impl PluginError {
    /// A stable name for the kind of refusal.
    pub fn kind(&self) -> &'static str {
        match self {
            PluginError::TooLarge { .. } => "too_large",
            PluginError::NotWasm => "not_wasm",
            PluginError::CoreModule => "core_module",
            PluginError::Invalid(_) => "invalid",
            PluginError::ForbiddenImport(_) => "forbidden_import",
            PluginError::UnsupportedVersion { .. } => "unsupported_version",
            PluginError::NotARule => "not_a_rule",
            PluginError::WrongExports { .. } => "wrong_exports",
            PluginError::Instantiation(_) => "instantiation",
            PluginError::Metadata { .. } => "metadata",
        }
    }
}

/// A bounded log.
#[derive(Default)]
struct Log {
    lines: Vec<String>,
    bytes: usize,
    dropped: u64,
}

/// Memory accounting and the memory limit of one evaluation.
struct Meter {
    limit: usize,
    peak: usize,
    exceeded: bool,
}

impl wasmtime::ResourceLimiter for Meter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.exceeded = true;
            wasmtime::bail!("memory limit of {} bytes reached", self.limit);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > 100_000 {
            wasmtime::bail!("table limit reached");
        }
        Ok(true)
    }
}

/// What one evaluation's store holds.
struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    meter: Meter,
    log: Log,
    log_limit: usize,
    /// What the guest writes to stderr (where a Rust panic message goes), bounded.
    stderr: MemoryOutputPipe,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl v0_1_0::bellwether::rules::types::Host for State {}

impl v0_1_0::bellwether::rules::host::Host for State {
    fn log(&mut self, level: v0_1_0::Level, message: String) {
        let level = match level {
            v0_1_0::Level::Debug => "debug",
            v0_1_0::Level::Info => "info",
            v0_1_0::Level::Warn => "warn",
            v0_1_0::Level::Error => "error",
        };
        let line = format!("{level}: {message}");
        if self.log.bytes + line.len() > self.log_limit {
            self.log.dropped += 1;
            return;
        }
        self.log.bytes += line.len();
        self.log.lines.push(line);
    }
}

/// A clock stopped at the Unix epoch: rules read time from the snapshot only.
struct StoppedClock;

impl wasmtime_wasi::HostWallClock for StoppedClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl wasmtime_wasi::HostMonotonicClock for StoppedClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// Stops the epoch ticker when the host goes away.
struct Ticker(Arc<AtomicBool>);

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Epoch tick: the resolution of the wall-clock deadline.
const TICK: Duration = Duration::from_millis(5);

/// Evaluations running at once, at most (the pool is sized for it): the pooling allocator refuses
/// an instance beyond its slots, and that refusal must not count as the plugin's failure.
/// Evaluations wait for a slot. The host allows one evaluation per core below this: the deadline
/// is wall-clock time, and evaluations sharing a core would time out because of each other.
const CONCURRENT_EVALUATIONS: usize = 32;

/// A counting semaphore for blocking threads (evaluations run on tokio's blocking pool).
struct Slots {
    capacity: usize,
    busy: Mutex<usize>,
    freed: std::sync::Condvar,
}

/// A slot, released on drop.
struct Slot<'a>(&'a Slots);

impl Slots {
    fn acquire(&self) -> Slot<'_> {
        let mut busy = self.busy.lock().expect("plugin slots");
        while *busy >= self.capacity {
            busy = self.freed.wait(busy).expect("plugin slots");
        }
        *busy += 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.busy.lock().expect("plugin slots") -= 1;
        self.0.freed.notify_one();
    }
}

/// The plugin runtime of a process.
pub struct PluginHost {
    engine: Engine,
    linker: Linker<State>,
    limits: Limits,
    cache: Mutex<HashMap<String, Arc<PluginRule>>>,
    slots: Slots,
    _ticker: Ticker,
}

/// Compiled plugins kept in memory (by component hash).
const CACHE_ENTRIES: usize = 256;

impl PluginHost {
    /// A host with these limits. Starts the epoch ticker thread.
    pub fn new(limits: Limits) -> wasmtime::Result<Arc<Self>> {
        let mut pool = PoolingAllocationConfig::default();
        // Room for every evaluation slot plus compilations' test instantiations.
        pool.total_component_instances(2 * CONCURRENT_EVALUATIONS as u32)
            .total_core_instances(32 * CONCURRENT_EVALUATIONS as u32)
            .total_memories(4 * CONCURRENT_EVALUATIONS as u32)
            .total_tables(16 * CONCURRENT_EVALUATIONS as u32)
            .max_memory_size(limits.memory_bytes.max(1 << 16))
            // Return freed slots' pages to the kernel in batches: fewer madvise calls and TLB
            // shootdowns per evaluation.
            .decommit_batch_size(CONCURRENT_EVALUATIONS);
        let mut config = Config::new();
        config
            .consume_fuel(true)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        v0_1_0::Rule::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)?;
        let stop = Arc::new(AtomicBool::new(false));
        let ticking = engine.clone();
        let stopped = stop.clone();
        std::thread::Builder::new().name("plugin-epoch".into()).spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                std::thread::sleep(TICK);
                ticking.increment_epoch();
            }
        })?;
        Ok(Arc::new(Self {
            engine,
            linker,
            limits,
            cache: Mutex::new(HashMap::new()),
            slots: Slots {
                capacity: std::thread::available_parallelism().map_or(1, |n| n.get()).min(CONCURRENT_EVALUATIONS),
                busy: Mutex::new(0),
                freed: std::sync::Condvar::new(),
            },
            _ticker: Ticker(stop),
        }))
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The sha256 of a component, as hex.
    pub fn hash(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    /// A compiled plugin from the cache, if this process compiled that component already.
    pub fn cached(&self, sha256: &str) -> Option<Arc<PluginRule>> {
        self.cache.lock().expect("plugin cache").get(sha256).cloned()
    }

    /// Checks and compiles a component (the upload pipeline), or takes it from the cache.
    pub fn compile(self: &Arc<Self>, bytes: &[u8]) -> Result<Arc<PluginRule>, PluginError> {
        if bytes.len() > self.limits.max_component_bytes {
            return Err(PluginError::TooLarge { size: bytes.len(), max: self.limits.max_component_bytes });
        }
        let sha256 = Self::hash(bytes);
        if let Some(hit) = self.cached(&sha256) {
            return Ok(hit);
        }
        match bytes.get(..8) {
            Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => return Err(PluginError::CoreModule),
            Some([0, b'a', b's', b'm', ..]) => {}
            _ => return Err(PluginError::NotWasm),
        }
        // Imports and version first: refusing costs no compilation.
        let mut version = None;
        for name in imports(bytes).map_err(PluginError::Invalid)? {
            let (interface, v) = name.split_once('@').unwrap_or((&name, ""));
            let inert = self.limits.inert_system_imports && INERT_IMPORTS.contains(&interface);
            if !ALLOWED_IMPORTS.contains(&interface) && !inert {
                return Err(PluginError::ForbiddenImport(name));
            }
            if interface.starts_with("bellwether:rules/") {
                version = Some(v.to_owned());
            }
        }
        let Some(version) = version else { return Err(PluginError::NotARule) };
        if !SUPPORTED_WIT_VERSIONS.contains(&version.as_str()) {
            return Err(PluginError::UnsupportedVersion {
                found: version,
                supported: SUPPORTED_WIT_VERSIONS.join(", "),
            });
        }
        let component = Component::new(&self.engine, bytes).map_err(|e| PluginError::Invalid(format!("{e:#}")))?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .and_then(v0_1_0::RulePre::new)
            .map_err(|e| PluginError::WrongExports { version: version.clone(), message: format!("{e:#}") })?;
        let (meta, metrics) = self.read_metadata(&pre)?;
        validate_meta(&meta, &metrics)?;
        let rule = Arc::new(PluginRule {
            host: Arc::downgrade(self),
            sha256: sha256.clone(),
            size: bytes.len(),
            wit_version: version,
            pre,
            meta,
            metrics,
        });
        let mut cache = self.cache.lock().expect("plugin cache");
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(sha256, rule.clone());
        Ok(rule)
    }

    /// The test instantiation of the upload pipeline: a fresh store, `metadata()`.
    fn read_metadata(&self, pre: &v0_1_0::RulePre<State>) -> Result<(RuleMeta, Vec<String>), PluginError> {
        let _slot = self.slots.acquire();
        let mut store = self.store();
        let instance =
            pre.instantiate(&mut store).map_err(|e| PluginError::Instantiation(self.failure(&store, e).to_string()))?;
        let m = instance
            .call_metadata(&mut store)
            .map_err(|e| PluginError::Instantiation(format!("metadata(): {}", self.failure(&store, e))))?;
        Ok(v0_1_0::meta_from(m))
    }

    fn store(&self) -> Store<State> {
        let stderr = MemoryOutputPipe::new(STDERR_BYTES);
        let mut wasi = wasmtime_wasi::WasiCtxBuilder::new();
        wasi.stderr(stderr.clone())
            .wall_clock(StoppedClock)
            .monotonic_clock(StoppedClock)
            .secure_random(<rand_wasi::rngs::SmallRng as rand_wasi::SeedableRng>::seed_from_u64(0x5eed))
            .insecure_random(<rand_wasi::rngs::SmallRng as rand_wasi::SeedableRng>::seed_from_u64(0x5eed))
            .insecure_random_seed(0x5eed)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }));
        let state = State {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            meter: Meter { limit: self.limits.memory_bytes, peak: 0, exceeded: false },
            log: Log::default(),
            log_limit: self.limits.log_bytes,
            stderr,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.meter);
        store.set_fuel(self.limits.fuel).expect("fuel is enabled");
        store.set_epoch_deadline((self.limits.timeout.as_micros() / TICK.as_micros()) as u64 + 1);
        store.epoch_deadline_trap();
        store
    }

    /// Turns a wasmtime error into the typed failure it stands for.
    fn failure(&self, store: &Store<State>, e: wasmtime::Error) -> RuleError {
        if store.data().meter.exceeded {
            return RuleError::OutOfMemory(self.limits.memory_bytes as u64);
        }
        match e.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => RuleError::OutOfFuel(self.limits.fuel),
            Some(Trap::Interrupt) => RuleError::Timeout(self.limits.timeout.as_millis() as u64),
            Some(trap) => {
                let mut message = trap.to_string();
                if let Some(bt) = e.downcast_ref::<WasmBacktrace>() {
                    let frames = backtrace(bt);
                    if !frames.is_empty() {
                        message.push_str(&format!(" (backtrace: {frames})"));
                    }
                }
                if let Some(panic) = stderr_tail(store) {
                    message.push_str(&format!("; stderr: {panic}"));
                }
                RuleError::Trap(message)
            }
            // Not a trap: a host-side refusal (e.g. invalid UTF-8 in a returned string).
            None => RuleError::InvalidOutput(format!("{e:#}")),
        }
    }
}

/// The innermost frames of a trap, demangled, repeats folded: `hostile::recurse (x12) < ...`.
fn backtrace(bt: &WasmBacktrace) -> String {
    let mut frames: Vec<(String, usize)> = Vec::new();
    for f in bt.frames().iter().take(64) {
        let name = match f.func_name() {
            Some(n) => format!("{:#}", rustc_demangle::demangle(n)),
            None => format!("func {}", f.func_index()),
        };
        match frames.last_mut() {
            Some((last, n)) if *last == name => *n += 1,
            _ => frames.push((name, 1)),
        }
    }
    frames
        .iter()
        .take(8)
        .map(|(name, n)| if *n > 1 { format!("{name} (x{n})") } else { name.clone() })
        .collect::<Vec<_>>()
        .join(" < ")
}

/// Bytes of a guest's stderr kept (enough for a panic message).
const STDERR_BYTES: usize = 2048;

/// What the guest wrote to stderr (a Rust panic message lands there).
fn stderr_tail(store: &Store<State>) -> Option<String> {
    let bytes = store.data().stderr.contents();
    let text = String::from_utf8_lossy(&bytes).trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// The names of what a component imports (its own imports, not those of components nested in
/// it; type imports, which carry no capability, are left out).
fn imports(bytes: &[u8]) -> Result<Vec<String>, String> {
    use wasmparser::{ComponentTypeRef, Parser, Payload};
    let mut names = Vec::new();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(|e| e.to_string())? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) if depth == 0 => break,
            Payload::End(_) => depth -= 1,
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    let import = import.map_err(|e| e.to_string())?;
                    if !matches!(import.ty, ComponentTypeRef::Type(_)) {
                        names.push(import.name.name.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    Ok(names)
}

fn meta_error(field: &str, message: impl Into<String>) -> PluginError {
    PluginError::Metadata { field: field.to_owned(), message: message.into() }
}

fn is_key(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The bar a plugin's metadata must pass.
pub fn validate_meta(meta: &RuleMeta, metrics: &[String]) -> Result<(), PluginError> {
    if !is_key(&meta.key, 3, 60) {
        return Err(meta_error("key", "3-60 characters: lowercase letters, digits and _, starting with a letter"));
    }
    if crate::builtin::all().iter().any(|r| r.meta().key == meta.key) {
        return Err(meta_error("key", format!("'{}' is the key of a built-in rule; choose another", meta.key)));
    }
    if meta.name.trim().is_empty() || meta.name.len() > 100 {
        return Err(meta_error("name", "1-100 characters"));
    }
    if meta.description.len() > 2000 {
        return Err(meta_error("description", "at most 2,000 characters"));
    }
    if !(1..=730).contains(&meta.lookback_days) {
        return Err(meta_error("lookbackDays", "1-730 days"));
    }
    if metrics.len() > 20 || metrics.iter().any(|m| m.is_empty() || m.len() > 100) {
        return Err(meta_error("metrics", "at most 20 metric keys of 1-100 characters"));
    }
    if meta.params.len() > 20 {
        return Err(meta_error("params", "at most 20 parameters"));
    }
    let mut keys = BTreeSet::new();
    for p in &meta.params {
        if !is_key(&p.key, 1, 60) {
            return Err(meta_error(&format!("params.{}", p.key), "keys are 1-60 lowercase letters, digits and _"));
        }
        if !keys.insert(p.key.as_str()) {
            return Err(meta_error(&format!("params.{}", p.key), "declared twice"));
        }
        if p.description.len() > 500 {
            return Err(meta_error(&format!("params.{}", p.key), "description: at most 500 characters"));
        }
        if let ParamKind::Number { min, max, .. } = p.kind
            && !(min.is_finite() && max.is_finite() && min <= max)
        {
            return Err(meta_error(&format!("params.{}", p.key), "min and max must be finite with min <= max"));
        }
        p.check(&p.default).map_err(|m| meta_error(&format!("params.{}.default", p.key), m))?;
    }
    Ok(())
}

/// An organisation's rule, compiled.
pub struct PluginRule {
    /// Weak: the host's cache holds its rules, and a host must be able to go away (its epoch
    /// thread stops with it).
    host: Weak<PluginHost>,
    /// The component's sha256 (hex).
    pub sha256: String,
    /// The component's size in bytes.
    pub size: usize,
    /// The WIT version it was built against.
    pub wit_version: String,
    pre: v0_1_0::RulePre<State>,
    meta: RuleMeta,
    /// Metric series it always reads.
    pub metrics: Vec<String>,
}

impl PluginRule {
    fn host(&self) -> Result<Arc<PluginHost>, RuleError> {
        self.host.upgrade().ok_or_else(|| RuleError::Failed("the plugin host has shut down".into()))
    }

    /// Runs the rule on one account with a fresh store.
    fn run(&self, snapshot: &AccountSnapshot, params: &Params) -> (Result<Evaluation, RuleError>, Usage) {
        let host = match self.host() {
            Ok(host) => host,
            Err(e) => return (Err(e), Usage::default()),
        };
        let _slot = host.slots.acquire();
        let mut store = host.store();
        let input = self.wit_snapshot(snapshot, params);
        let result = self
            .pre
            .instantiate(&mut store)
            .and_then(|rule| rule.call_evaluate(&mut store, &input, &v0_1_0::params_to(params)));
        let fuel = host.limits.fuel - store.get_fuel().unwrap_or(0);
        let result = match result {
            Ok(Ok(e)) => Ok(v0_1_0::evaluation_from(e)),
            Ok(Err(e)) => Err(v0_1_0::error_from(e)),
            Err(e) => Err(host.failure(&store, e)),
        };
        let state = store.into_data();
        let mut logs = state.log.lines;
        if state.log.dropped > 0 {
            logs.push(format!(
                "({} more log lines dropped: the log is capped at {} bytes)",
                state.log.dropped, state.log_limit
            ));
        }
        (result, Usage { fuel, peak_memory: state.meter.peak as u64, logs })
    }

    /// A fresh store and instance, dropped at once: the fixed cost of every evaluation (for the
    /// benchmark).
    #[doc(hidden)]
    pub fn instantiate_only(&self) -> Result<(), RuleError> {
        let host = self.host()?;
        let _slot = host.slots.acquire();
        let mut store = host.store();
        self.pre.instantiate(&mut store).map(drop).map_err(|e| host.failure(&store, e))
    }

    /// The snapshot as this rule receives it (for the benchmark).
    #[doc(hidden)]
    pub fn input(&self, snapshot: &AccountSnapshot, params: &Params) -> usize {
        let input = self.wit_snapshot(snapshot, params);
        input.contacts.len() + input.metrics.len()
    }

    /// The snapshot as the guest receives it: the declared inputs only.
    fn wit_snapshot(&self, snapshot: &AccountSnapshot, params: &Params) -> v0_1_0::bellwether::rules::types::Snapshot {
        let keys: BTreeSet<String> = self.metric_keys(params).into_iter().collect();
        v0_1_0::snapshot_to(snapshot, &self.meta.inputs, &keys, self.meta.lookback_days)
    }

    /// What `domain::plugins::upload` stores for this component: its identity and the metadata
    /// (as JSON, for people; the component stays the source of truth).
    pub fn upload(&self, component: Vec<u8>) -> bellwether_domain::plugins::Upload {
        let m = &self.meta;
        let params: Vec<serde_json::Value> = m
            .params
            .iter()
            .map(|p| {
                let kind = match p.kind {
                    ParamKind::Number { .. } => "number",
                    ParamKind::Text => "text",
                    ParamKind::Metric => "metric",
                };
                serde_json::json!({ "key": p.key, "description": p.description, "kind": kind, "default": p.default })
            })
            .collect();
        bellwether_domain::plugins::Upload {
            key: m.key.clone(),
            name: m.name.clone(),
            description: m.description.clone(),
            category: m.category,
            sha256: self.sha256.clone(),
            wit_version: self.wit_version.clone(),
            metadata: serde_json::json!({
                "key": m.key,
                "name": m.name,
                "category": m.category.as_str(),
                "description": m.description,
                "inputs": m.inputs.iter().map(|i| format!("{i:?}")).collect::<Vec<_>>(),
                "metrics": self.metrics,
                "lookbackDays": m.lookback_days,
                "autoResolve": m.auto_resolve,
                "params": params,
            }),
            component,
        }
    }

    fn metric_keys(&self, params: &Params) -> Vec<String> {
        let mut keys = self.metrics.clone();
        keys.extend(
            self.meta
                .params
                .iter()
                .filter(|p| p.kind == ParamKind::Metric)
                .map(|p| params.text(&p.key).to_owned())
                .filter(|k| !k.is_empty()),
        );
        keys.sort();
        keys.dedup();
        keys
    }
}

impl Rule for PluginRule {
    fn meta(&self) -> &RuleMeta {
        &self.meta
    }

    fn metrics(&self, params: &Params) -> Vec<String> {
        self.metric_keys(params)
    }

    fn evaluate(&self, snapshot: &AccountSnapshot, params: &Params) -> Result<Evaluation, RuleError> {
        self.run(snapshot, params).0
    }

    fn evaluate_metered(
        &self,
        snapshot: &AccountSnapshot,
        params: &Params,
    ) -> (Result<Evaluation, RuleError>, Option<Usage>) {
        let (result, usage) = self.run(snapshot, params);
        (result, Some(usage))
    }

    fn is_plugin(&self) -> bool {
        true
    }

    fn component_sha256(&self) -> Option<&str> {
        Some(&self.sha256)
    }
}

impl std::fmt::Debug for PluginRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginRule").field("key", &self.meta.key).field("sha256", &self.sha256).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ParamSpec, ParamValue};

    fn meta() -> RuleMeta {
        RuleMeta {
            key: "my_rule".into(),
            name: "My rule".into(),
            category: bellwether_domain::RiskCategory::Financial,
            description: String::new(),
            inputs: Vec::new(),
            lookback_days: 30,
            params: vec![ParamSpec::days("days", "Days", 30, 365)],
            auto_resolve: true,
        }
    }

    fn refused(change: impl FnOnce(&mut RuleMeta), metrics: &[&str]) -> (String, String) {
        let mut m = meta();
        change(&mut m);
        let metrics: Vec<String> = metrics.iter().map(|s| (*s).to_owned()).collect();
        match validate_meta(&m, &metrics) {
            Err(PluginError::Metadata { field, message }) => (field, message),
            other => panic!("expected refused metadata, got {other:?}"),
        }
    }

    #[test]
    fn metadata_is_held_to_the_bar() {
        assert_eq!(validate_meta(&meta(), &["seats_used".into()]), Ok(()));
        assert_eq!(refused(|m| m.key = "My Rule".into(), &[]).0, "key");
        assert_eq!(refused(|m| m.key = "ab".into(), &[]).0, "key");
        let (field, message) = refused(|m| m.key = "usage_drop".into(), &[]);
        assert_eq!(field, "key");
        assert!(message.contains("built-in"), "{message}");
        assert_eq!(refused(|m| m.name = " ".into(), &[]).0, "name");
        assert_eq!(refused(|m| m.lookback_days = 0, &[]).0, "lookbackDays");
        assert_eq!(refused(|m| m.lookback_days = 731, &[]).0, "lookbackDays");
        assert_eq!(refused(|_| {}, &[""]).0, "metrics");
        assert_eq!(
            refused(|m| m.params.push(ParamSpec::days("days", "again", 1, 2)), &[]),
            ("params.days".into(), "declared twice".into())
        );
        assert_eq!(refused(|m| m.params[0].default = ParamValue::Number(400.0), &[]).0, "params.days.default");
        assert_eq!(refused(|m| m.params.push(ParamSpec::number("x", "", 1.0, 2.0, 1.0)), &[]).0, "params.x");
        assert_eq!(refused(|m| m.params.push(ParamSpec::text("Bad Key", "", "v")), &[]).0, "params.Bad Key");
    }

    #[test]
    fn log_lines_are_capped_by_bytes() {
        use v0_1_0::bellwether::rules::host::Host as _;
        let mut state = State {
            wasi: wasmtime_wasi::WasiCtxBuilder::new().build(),
            table: ResourceTable::new(),
            meter: Meter { limit: 0, peak: 0, exceeded: false },
            log: Log::default(),
            log_limit: 20,
            stderr: MemoryOutputPipe::new(16),
        };
        state.log(v0_1_0::Level::Warn, "ten chars".into());
        state.log(v0_1_0::Level::Info, "more than the rest".into());
        assert_eq!(state.log.lines, ["warn: ten chars"]);
        assert_eq!(state.log.dropped, 1);
    }
}

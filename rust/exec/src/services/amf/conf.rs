//! The AMF configuration file (`/etc/ais/amf.conf`, or the file named by
//! `COROSYNC_AMF_CONFIG_FILE` / `OPENAIS_AMF_CONFIG_FILE`), in the format
//! openais 0.80 reads: one item per line, `#` comments, `name = value`,
//! named blocks `safX = NAME {` ... `}`, list blocks `key {` one value per
//! line `}`. Times are milliseconds.
//!
//! Owns: the parse into a [`Model`] (the cluster's nodes, service groups,
//! units, components, service instances and their CSIs, with the DNs
//! the API uses). Must not: act on it (the service does). Errors say
//! `file:line: key: why`. The redundancy models are `2n`, `nplusm` and
//! `noredundancy`; N-way and N-way-active are refused ("not supported"),
//! as are keys this parser does not know.

use std::fmt;
use std::path::Path;

/// Why the file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfError {
    pub line: usize,
    pub key: String,
    pub why: String,
}

impl fmt::Display for ConfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.line, self.key, self.why)
    }
}

fn err<T>(line: usize, key: &str, why: impl Into<String>) -> Result<T, ConfError> {
    Err(ConfError { line, key: key.to_string(), why: why.into() })
}

/// One parsed line or block.
#[derive(Debug, Clone)]
struct Item {
    line: usize,
    key: String,
    /// `key = value` and `key = value {`.
    value: String,
    /// For blocks: the items inside.
    children: Vec<Item>,
    /// For blocks: the bare lines inside (list values, attribute values).
    values: Vec<String>,
    block: bool,
}

/// Splits the text into a tree of items.
fn tree(text: &str) -> Result<Vec<Item>, ConfError> {
    let mut stack: Vec<Item> = vec![Item {
        line: 0,
        key: String::new(),
        value: String::new(),
        children: Vec::new(),
        values: Vec::new(),
        block: true,
    }];
    // True while inside a `key {` list block: every line is a value.
    let mut list = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let t = raw.split('#').next().unwrap_or("").trim();
        if t.is_empty() {
            continue;
        }
        if t == "}" {
            if stack.len() == 1 {
                return err(line, "}", "no block to close");
            }
            let done = stack.pop().expect("checked above");
            stack.last_mut().expect("root stays").children.push(done);
            list = false;
            continue;
        }
        if list {
            stack.last_mut().expect("in a block").values.push(t.to_string());
            continue;
        }
        let (head, opens) = match t.strip_suffix('{') {
            Some(h) => (h.trim(), true),
            None => (t, false),
        };
        let (key, value) = match head.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (head, ""),
        };
        if !opens && !head.contains('=') {
            stack.last_mut().expect("in a block").values.push(t.to_string());
            continue;
        }
        if key.is_empty() || key.contains(char::is_whitespace) {
            return err(line, key, "not a key");
        }
        if stack.len() > 16 {
            return err(line, key, "blocks nested too deep");
        }
        let item = Item {
            line,
            key: key.to_string(),
            value: value.to_string(),
            children: Vec::new(),
            values: Vec::new(),
            block: opens,
        };
        if opens {
            list = !head.contains('=');
            stack.push(item);
        } else {
            stack.last_mut().expect("in a block").children.push(item);
        }
    }
    if stack.len() > 1 {
        let open = stack.last().expect("non-empty");
        return err(open.line, &open.key, "block not closed");
    }
    Ok(stack.pop().expect("root").children)
}

/// A CLC command: the program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Command {
    pub path: String,
    pub argv: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HcKey {
    pub key: Vec<u8>,
    pub period_ms: u64,
    pub max_duration_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comp {
    pub name: String,
    /// `safComp=C,safSu=SU,safSg=SG,safApp=APP`.
    pub dn: Vec<u8>,
    pub instantiate: Option<Command>,
    pub terminate: Option<Command>,
    pub cleanup: Option<Command>,
    pub env: Vec<(String, String)>,
    pub cs_types: Vec<String>,
    /// `SaAmfRecommendedRecoveryT` for errors AMF detects.
    pub recovery: u32,
    pub clc_timeout_ms: u64,
    pub callback_timeout_ms: u64,
    /// Per-operation timeouts (`saAmfCompInstantiateTimeout`, ...), when
    /// given: the defaults above otherwise.
    pub timeouts: Timeouts,
    pub hc_keys: Vec<HcKey>,
    /// `saAmfCompCapabilityModelT` (1..7, in the order of the config
    /// words).
    pub capability: u32,
    /// `saAmfCompNumMaxInstantiate`: instantiation attempts before the
    /// component is given up (and its SU with it).
    pub max_instantiate: u32,
}

/// The per-operation timeouts of a component (milliseconds).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Timeouts {
    pub instantiate: Option<u64>,
    pub terminate: Option<u64>,
    pub cleanup: Option<u64>,
    pub terminate_callback: Option<u64>,
    pub csi_set: Option<u64>,
    pub csi_remove: Option<u64>,
}

impl Comp {
    /// How long the callback `op` may take to be answered.
    pub fn callback_timeout(&self, op: Callback) -> u64 {
        let t = &self.timeouts;
        let given = match op {
            Callback::CsiSet => t.csi_set,
            Callback::CsiRemove => t.csi_remove,
            Callback::Terminate => t.terminate_callback,
        };
        given.unwrap_or(self.callback_timeout_ms)
    }

    /// How long the CLC command `op` may run.
    pub fn clc_timeout(&self, op: super::clc::Kind) -> u64 {
        use super::clc::Kind;
        let t = &self.timeouts;
        let given = match op {
            Kind::Instantiate => t.instantiate,
            Kind::Terminate => t.terminate,
            Kind::Cleanup => t.cleanup,
        };
        given.unwrap_or(self.clc_timeout_ms)
    }
}

/// The callbacks a component must answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callback {
    CsiSet,
    CsiRemove,
    Terminate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Su {
    pub name: String,
    /// The `safAmfNode` hosting it.
    pub node: String,
    /// `saAmfSURank`: 1 is the highest, 0 (unset) the lowest.
    pub rank: u32,
    pub comps: Vec<Comp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sg {
    pub name: String,
    pub redundancy: Redundancy,
    /// `saAmfSGNumPrefActiveSUs` / `...StandbySUs`: how many SUs carry
    /// ACTIVE / STANDBY assignments (N+M: N and M).
    pub pref_active: u32,
    pub pref_standby: u32,
    /// `saAmfSGMaxActiveSIsperSUs` / `...StandbySIsperSUs` (0: no limit).
    pub max_active_sis: u32,
    pub max_standby_sis: u32,
    pub comp_restart_prob_ms: u64,
    pub comp_restart_max: u32,
    pub su_restart_prob_ms: u64,
    pub su_restart_max: u32,
    /// Read; a failed unit is always repaired (cleaned up and instantiated
    /// again) for now.
    pub auto_repair: bool,
    pub sus: Vec<Su>,
}

/// The redundancy models this AMF runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redundancy {
    TwoN,
    NPlusM,
    NoRedundancy,
}

/// What the assignment rules of an SG allow: how many SUs with ACTIVE
/// and with STANDBY assignments, how many SIs each carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub active_sus: usize,
    pub standby_sus: usize,
    pub active_per_su: usize,
    pub standby_per_su: usize,
}

impl Sg {
    pub fn limits(&self) -> Limits {
        let per = |n: u32| if n == 0 { usize::MAX } else { n as usize };
        match self.redundancy {
            // One SU with every SI ACTIVE, one with every SI STANDBY.
            Redundancy::TwoN => {
                Limits { active_sus: 1, standby_sus: 1, active_per_su: usize::MAX, standby_per_su: usize::MAX }
            }
            Redundancy::NPlusM => Limits {
                active_sus: self.pref_active.max(1) as usize,
                standby_sus: self.pref_standby as usize,
                active_per_su: per(self.max_active_sis),
                standby_per_su: per(self.max_standby_sis),
            },
            // Each SI ACTIVE on its own SU, no STANDBY.
            Redundancy::NoRedundancy => {
                Limits { active_sus: usize::MAX, standby_sus: 0, active_per_su: 1, standby_per_su: 0 }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Csi {
    /// `safCsi=CSI,safSi=SI,safApp=APP`.
    pub dn: Vec<u8>,
    pub cs_type: String,
    /// One (name, value) per value line of each `safCSIAttr`.
    pub attrs: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Si {
    pub name: String,
    /// `saAmfSIRank`: 1 is the highest, 0 (unset) the lowest.
    pub rank: u32,
    /// Index of the SG that protects it.
    pub sg: usize,
    pub csis: Vec<Csi>,
}

/// The whole configuration, flattened: SGs and SIs of every application.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Model {
    pub cluster: String,
    pub startup_timeout_ms: u64,
    pub nodes: Vec<String>,
    pub sgs: Vec<Sg>,
    pub sis: Vec<Si>,
}

impl Model {
    pub fn load(path: &Path) -> Result<Model, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Model::parse(&text).map_err(|e| format!("{}:{e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Model, ConfError> {
        let items = tree(text)?;
        let mut model = Model::default();
        let mut seen = false;
        for it in &items {
            match it.key.as_str() {
                "safAmfCluster" if it.block && !seen => {
                    seen = true;
                    cluster(&mut model, it)?;
                }
                "safAmfCluster" => return err(it.line, &it.key, "one cluster block expected"),
                _ => return err(it.line, &it.key, "unknown key at top level"),
            }
        }
        if !seen {
            return err(0, "safAmfCluster", "missing");
        }
        Ok(model)
    }
}

fn ms(it: &Item) -> Result<u64, ConfError> {
    match it.value.parse::<u64>() {
        Ok(v) if v <= 24 * 3600 * 1000 => Ok(v),
        _ => err(it.line, &it.key, format!("'{}' is not a number of milliseconds", it.value)),
    }
}

/// Instantiation attempts when `saAmfCompNumMaxInstantiate` is not given.
pub const DEFAULT_MAX_INSTANTIATE: u32 = 3;

fn count(it: &Item) -> Result<u32, ConfError> {
    match it.value.parse::<u32>() {
        Ok(v) if v <= 1_000_000 => Ok(v),
        _ => err(it.line, &it.key, format!("'{}' is not a count", it.value)),
    }
}

fn flag(it: &Item) -> Result<bool, ConfError> {
    match it.value.as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        v => err(it.line, &it.key, format!("'{v}' is not true or false")),
    }
}

fn name_of(it: &Item) -> Result<String, ConfError> {
    if it.value.is_empty() || it.value.len() > 64 || it.value.contains([',', '=']) {
        return err(it.line, &it.key, format!("'{}' is not a usable name", it.value));
    }
    Ok(it.value.clone())
}

fn cluster(model: &mut Model, c: &Item) -> Result<(), ConfError> {
    model.cluster = name_of(c)?;
    let mut startup = None;
    for it in &c.children {
        match it.key.as_str() {
            "saAmfClusterStartupTimeout" => startup = Some(ms(it)?),
            "saAmfClusterClmNode" | "saAmfClusterAdminState" => {}
            "safAmfNode" if it.block => {
                let name = name_of(it)?;
                if model.nodes.contains(&name) {
                    return err(it.line, &it.key, format!("node {name} twice"));
                }
                for k in &it.children {
                    match k.key.as_str() {
                        "saAmfNodeSuFailOverProb" => {
                            ms(k)?;
                        }
                        "saAmfNodeSuFailoverMax" => {
                            count(k)?;
                        }
                        "saAmfNodeAutoRepair" => {
                            flag(k)?;
                        }
                        "saAmfNodeRebootOnInstantiationFailure" | "saAmfNodeRebootOnTerminationFailure" => {
                            flag(k)?;
                        }
                        "saAmfNodeClmNode" | "saAmfNodeAdminState" => {}
                        _ => return err(k.line, &k.key, "unknown key in safAmfNode"),
                    }
                }
                model.nodes.push(name);
            }
            "safApp" if it.block => app(model, it)?,
            _ => return err(it.line, &it.key, "unknown key in safAmfCluster"),
        }
    }
    model.startup_timeout_ms = match startup {
        Some(t) => t,
        None => return err(c.line, "saAmfClusterStartupTimeout", "missing"),
    };
    for sg in &model.sgs {
        for su in &sg.sus {
            if !model.nodes.contains(&su.node) {
                return err(0, "saAmfSUHostedByNode", format!("SU {} names node {}, not configured", su.name, su.node));
            }
        }
    }
    Ok(())
}

fn app(model: &mut Model, a: &Item) -> Result<(), ConfError> {
    let app = name_of(a)?;
    let clccli = a.children.iter().find(|i| i.key == "clccli_path").map(|i| i.value.clone());
    let first_sg = model.sgs.len();
    let mut sis = Vec::new();
    for it in &a.children {
        match it.key.as_str() {
            "clccli_path" => {}
            "safSg" if it.block => {
                let sg = sg(&app, it, clccli.as_deref())?;
                model.sgs.push(sg);
            }
            "safSi" if it.block => sis.push(it),
            "safCSType" if it.block => {
                for k in &it.children {
                    if k.key != "safAmfCSAttrName" {
                        return err(k.line, &k.key, "unknown key in safCSType");
                    }
                }
            }
            _ => return err(it.line, &it.key, "unknown key in safApp"),
        }
    }
    for it in sis {
        let si = si(&app, it, &model.sgs, first_sg)?;
        model.sis.push(si);
    }
    Ok(())
}

fn sg(app: &str, s: &Item, clccli: Option<&str>) -> Result<Sg, ConfError> {
    let name = name_of(s)?;
    let clccli = s.children.iter().find(|i| i.key == "clccli_path").map(|i| i.value.as_str()).or(clccli);
    let mut sg = Sg {
        name: name.clone(),
        redundancy: Redundancy::TwoN,
        pref_active: 1,
        pref_standby: 1,
        max_active_sis: 0,
        max_standby_sis: 0,
        comp_restart_prob_ms: 0,
        comp_restart_max: 0,
        su_restart_prob_ms: 0,
        su_restart_max: 0,
        auto_repair: true,
        sus: Vec::new(),
    };
    let (mut crp, mut crm, mut srp, mut srm, mut model) = (None, None, None, None, None);
    for it in &s.children {
        match it.key.as_str() {
            "clccli_path" => {}
            "saAmfSGRedundancyModel" => match it.value.as_str() {
                "2n" => model = Some(Redundancy::TwoN),
                "nplusm" => model = Some(Redundancy::NPlusM),
                "noredundancy" => model = Some(Redundancy::NoRedundancy),
                "nway" | "nwayactive" => {
                    return err(it.line, &it.key, format!("{}: not supported (2n, nplusm, noredundancy)", it.value));
                }
                v => return err(it.line, &it.key, format!("'{v}' is not a redundancy model")),
            },
            "saAmfSGNumPrefActiveSUs" => sg.pref_active = count(it)?,
            "saAmfSGNumPrefStandbySUs" => sg.pref_standby = count(it)?,
            "saAmfSGMaxActiveSIsperSUs" => sg.max_active_sis = count(it)?,
            "saAmfSGMaxStandbySIsperSUs" => sg.max_standby_sis = count(it)?,
            "saAmfSGNumPrefInserviceSUs" | "saAmfSGNumPrefAssignedSUs" => {
                count(it)?;
            }
            "saAmfSGCompRestartProb" => crp = Some(ms(it)?),
            "saAmfSGCompRestartMax" => crm = Some(count(it)?),
            "saAmfSGSuRestartProb" => srp = Some(ms(it)?),
            "saAmfSGSuRestartMax" => srm = Some(count(it)?),
            "saAmfSGAutoAdjustProb" => {
                ms(it)?;
            }
            "saAmfSGAutoAdjust" => {
                flag(it)?;
            }
            "saAmfSGAutoRepair" => sg.auto_repair = flag(it)?,
            "safSu" if it.block => {
                let su = su(app, &name, it, clccli)?;
                sg.sus.push(su);
            }
            _ => return err(it.line, &it.key, "unknown key in safSg"),
        }
    }
    let missing = |k: &str| ConfError { line: s.line, key: k.into(), why: format!("missing in SG {name}") };
    sg.redundancy = model.ok_or_else(|| missing("saAmfSGRedundancyModel"))?;
    sg.comp_restart_prob_ms = crp.ok_or_else(|| missing("saAmfSGCompRestartProb"))?;
    sg.comp_restart_max = crm.ok_or_else(|| missing("saAmfSGCompRestartMax"))?;
    sg.su_restart_prob_ms = srp.ok_or_else(|| missing("saAmfSGSuRestartProb"))?;
    sg.su_restart_max = srm.ok_or_else(|| missing("saAmfSGSuRestartMax"))?;
    if sg.sus.is_empty() {
        return err(s.line, "safSu", format!("SG {name} has no SU"));
    }
    Ok(sg)
}

fn su(app: &str, sg: &str, s: &Item, clccli: Option<&str>) -> Result<Su, ConfError> {
    let name = name_of(s)?;
    let clccli = s.children.iter().find(|i| i.key == "clccli_path").map(|i| i.value.as_str()).or(clccli);
    let mut node = None;
    let mut rank = 0;
    let mut comps = Vec::new();
    for it in &s.children {
        match it.key.as_str() {
            "clccli_path" => {}
            "saAmfSUHostedByNode" => node = Some(name_of(it)?),
            "saAmfSUNumComponents" => {
                count(it)?;
            }
            "saAmfSUFailover" | "saAmfSUPreInstantiable" => {
                flag(it)?;
            }
            "saAmfSURank" => rank = count(it)?,
            "saAmfSUAdminState" => {}
            "safComp" if it.block => {
                let dn = format!("safComp={},safSu={name},safSg={sg},safApp={app}", it.value);
                comps.push(comp(it, dn, clccli)?);
            }
            _ => return err(it.line, &it.key, "unknown key in safSu"),
        }
    }
    let Some(node) = node else { return err(s.line, "saAmfSUHostedByNode", format!("missing in SU {name}")) };
    if comps.is_empty() {
        return err(s.line, "safComp", format!("SU {name} has no component"));
    }
    Ok(Su { name, node, rank, comps })
}

fn recovery(it: &Item) -> Result<u32, ConfError> {
    use ais_ipc::amf::*;
    Ok(match it.value.as_str() {
        "component_restart" => COMPONENT_RESTART,
        "component_failover" => COMPONENT_FAILOVER,
        "node_switchover" => NODE_SWITCHOVER,
        "node_failover" => NODE_FAILOVER,
        "node_failfast" => NODE_FAILFAST,
        "application_restart" => APPLICATION_RESTART,
        "cluster_reset" => CLUSTER_RESET,
        v => return err(it.line, &it.key, format!("'{v}' is not a recovery")),
    })
}

fn comp(c: &Item, dn: String, clccli: Option<&str>) -> Result<Comp, ConfError> {
    let name = name_of(c)?;
    let clccli = c.children.iter().find(|i| i.key == "clccli_path").map(|i| i.value.as_str()).or(clccli);
    let mut comp = Comp {
        name: name.clone(),
        dn: dn.into_bytes(),
        instantiate: None,
        terminate: None,
        cleanup: None,
        env: Vec::new(),
        cs_types: Vec::new(),
        recovery: 0,
        clc_timeout_ms: 0,
        callback_timeout_ms: 0,
        timeouts: Timeouts::default(),
        hc_keys: Vec::new(),
        capability: 0,
        max_instantiate: DEFAULT_MAX_INSTANTIATE,
    };
    let (mut category, mut capability, mut max_active, mut clc, mut cb) = (false, false, false, None, None);
    let (mut inst, mut inst_argv, mut clean, mut clean_argv) = (None, None, None, None);
    let (mut term, mut term_argv) = (None, None);
    let command = |it: &Item| -> Result<String, ConfError> {
        if it.value.is_empty() {
            return err(it.line, &it.key, "empty command");
        }
        Ok(match (it.value.starts_with('/'), clccli) {
            (false, Some(dir)) => format!("{dir}/{}", it.value),
            _ => it.value.clone(),
        })
    };
    for it in &c.children {
        match it.key.as_str() {
            "clccli_path" => {}
            "saAmfCompCategory" => match it.value.as_str() {
                "sa_aware" => category = true,
                "proxy" | "proxied" | "local" => {
                    return err(it.line, &it.key, format!("{}: not supported (sa_aware only)", it.value));
                }
                v => return err(it.line, &it.key, format!("'{v}' is not a category")),
            },
            "saAmfCompCapability" => {
                comp.capability = match it.value.as_str() {
                    "x_active_and_y_standby" => 1,
                    "x_active_or_y_standby" => 2,
                    "one_active_or_y_standby" => 3,
                    "one_active_or_one_standby" => 4,
                    "x_active" => 5,
                    "1_active" => 6,
                    "non_preinstantiable" => 7,
                    v => return err(it.line, &it.key, format!("'{v}' is not a capability model")),
                };
                capability = true;
            }
            "saAmfCompNumMaxActiveCsi" => max_active = count(it).map(|_| true)?,
            "saAmfCompNumMaxStandbyCsi" => {
                count(it)?;
            }
            "saAmfCompDefaultClcCliTimeout" => clc = Some(ms(it)?),
            "saAmfCompDefaultCallbackTimeOut" => cb = Some(ms(it)?),
            "saAmfCompInstantiateCmd" => inst = Some(command(it)?),
            "saAmfCompInstantiateCmdArgv" => inst_argv = Some(it.value.clone()),
            "saAmfCompCleanupCmd" => clean = Some(command(it)?),
            "saAmfCompCleanupCmdArgv" => clean_argv = Some(it.value.clone()),
            "saAmfCompTerminateCmd" => term = Some(command(it)?),
            "saAmfCompTerminateCmdArgv" => term_argv = Some(it.value.clone()),
            "saAmfCompAmStartCmd" | "saAmfCompAmStartCmdArgv" | "saAmfCompAmStopCmd" | "saAmfCompAmStopCmdArgv" => {}
            "saAmfCompInstantiateTimeout" => comp.timeouts.instantiate = Some(ms(it)?),
            "saAmfCompTerminateTimeout" => comp.timeouts.terminate = Some(ms(it)?),
            "saAmfCompCleanupTimeout" => comp.timeouts.cleanup = Some(ms(it)?),
            "saAmfCompTerminateCallbackTimeOut" => comp.timeouts.terminate_callback = Some(ms(it)?),
            "saAmfCompCSISetCallbackTimeout" => comp.timeouts.csi_set = Some(ms(it)?),
            "saAmfCompCSIRmvCallbackTimeout" => comp.timeouts.csi_remove = Some(ms(it)?),
            "saAmfCompDelayBetweenInstantiateAttempts"
            | "saAmfCompAmStartTimeout"
            | "saAmfCompAmStopTimeout"
            | "saAmfCompQuiescingCompleteTimeout" => {
                ms(it)?;
            }
            "saAmfCompNumMaxInstantiate" => {
                comp.max_instantiate = count(it)?;
                if comp.max_instantiate == 0 {
                    return err(it.line, &it.key, "at least one attempt");
                }
            }
            "saAmfCompNumMaxInstantiateWithDelay"
            | "saAmfCompNumMaxAmStartAttempt"
            | "saAmfCompNumMaxAmStopAttempt" => {
                count(it)?;
            }
            "saAmfCompRecoveryOnError" => comp.recovery = recovery(it)?,
            "saAmfCompDisableRestart" => {
                flag(it)?;
            }
            "saAmfCompCsTypes" if it.block => comp.cs_types = it.values.clone(),
            "saAmfCompCmdEnv" if it.block => {
                for v in &it.values {
                    let Some((k, val)) = v.split_once('=') else {
                        return err(it.line, &it.key, format!("'{v}' is not VAR=value"));
                    };
                    comp.env.push((k.trim().to_string(), val.trim().to_string()));
                }
            }
            "safHealthcheckKey" if it.block => {
                let (mut period, mut max) = (None, None);
                for k in &it.children {
                    match k.key.as_str() {
                        "saAmfHealthcheckPeriod" => period = Some(ms(k)?),
                        "saAmfHealthcheckMaxDuration" => max = Some(ms(k)?),
                        _ => return err(k.line, &k.key, "unknown key in safHealthcheckKey"),
                    }
                }
                if it.value.is_empty() || it.value.len() > ais_ipc::amf::MAX_KEY {
                    return err(it.line, &it.key, "a key is 1 to 32 bytes");
                }
                let (Some(period_ms), Some(max_duration_ms)) = (period, max) else {
                    return err(it.line, &it.key, "needs saAmfHealthcheckPeriod and saAmfHealthcheckMaxDuration");
                };
                if period_ms == 0 {
                    return err(it.line, "saAmfHealthcheckPeriod", "must be above 0");
                }
                comp.hc_keys.push(HcKey { key: it.value.clone().into_bytes(), period_ms, max_duration_ms });
            }
            _ => return err(it.line, &it.key, "unknown key in safComp"),
        }
    }
    let missing = |k: &str| ConfError { line: c.line, key: k.into(), why: format!("missing in component {name}") };
    for (present, key) in [
        (category, "saAmfCompCategory"),
        (capability, "saAmfCompCapability"),
        (max_active, "saAmfCompNumMaxActiveCsi"),
        (comp.recovery != 0, "saAmfCompRecoveryOnError"),
    ] {
        if !present {
            return Err(missing(key));
        }
    }
    comp.clc_timeout_ms = clc.ok_or_else(|| missing("saAmfCompDefaultClcCliTimeout"))?;
    comp.callback_timeout_ms = cb.ok_or_else(|| missing("saAmfCompDefaultCallbackTimeOut"))?;
    let split = |a: Option<String>| a.map(|a| a.split_whitespace().map(str::to_string).collect()).unwrap_or_default();
    comp.instantiate = inst.map(|path| Command { path, argv: split(inst_argv) });
    comp.cleanup = clean.map(|path| Command { path, argv: split(clean_argv) });
    comp.terminate = term.map(|path| Command { path, argv: split(term_argv) });
    if comp.instantiate.is_none() {
        return Err(missing("saAmfCompInstantiateCmd"));
    }
    Ok(comp)
}

fn si(app: &str, s: &Item, sgs: &[Sg], first_sg: usize) -> Result<Si, ConfError> {
    let name = name_of(s)?;
    let mut sg = None;
    let mut rank = 0;
    let mut csis = Vec::new();
    for it in &s.children {
        match it.key.as_str() {
            "saAmfSIRank" => rank = count(it)?,
            "saAmfSINumCSIs" | "saAmfSIPrefActiveAssignments" | "saAmfSIPrefStandbyAssignments" => {
                count(it)?;
            }
            "saAmfSIProtectedbySG" => {
                let pos = sgs[first_sg..].iter().position(|g| g.name == it.value);
                match pos {
                    Some(i) => sg = Some(first_sg + i),
                    None => return err(it.line, &it.key, format!("no SG {} in this application", it.value)),
                }
            }
            "safRankedSu" | "safDepend" if it.block => {}
            "safCsi" if it.block => {
                let csi = name_of(it)?;
                let mut cs_type = None;
                let mut attrs = Vec::new();
                for k in &it.children {
                    match k.key.as_str() {
                        "saAmfCSTypeName" => cs_type = Some(k.value.clone()),
                        "safCSIAttr" if k.block => {
                            for v in &k.values {
                                attrs.push((k.value.clone(), v.clone()));
                            }
                        }
                        "safDepend" if k.block => {}
                        _ => return err(k.line, &k.key, "unknown key in safCsi"),
                    }
                }
                let Some(cs_type) = cs_type else {
                    return err(it.line, "saAmfCSTypeName", format!("missing in CSI {csi}"));
                };
                let dn = format!("safCsi={csi},safSi={name},safApp={app}").into_bytes();
                csis.push(Csi { dn, cs_type, attrs });
            }
            _ => return err(it.line, &it.key, "unknown key in safSi"),
        }
    }
    let sg = match sg {
        Some(sg) => sg,
        None if sgs.len() == first_sg + 1 => first_sg,
        None => return err(s.line, "saAmfSIProtectedbySG", format!("missing in SI {name}")),
    };
    if csis.is_empty() {
        return err(s.line, "safCsi", format!("SI {name} has no CSI"));
    }
    Ok(Si { name, rank, sg, csis })
}

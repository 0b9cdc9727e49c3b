//! The deployment examples in `deploy/` against the service they deploy, so that they cannot drift
//! from it unnoticed: every YAML file parses; the Kubernetes and compose examples set only
//! settings the binary reads, with values it accepts, and hold together (probes, ports, selectors,
//! shutdown time, a durable Redis); and every metric the Grafana dashboard queries, with the labels
//! it groups by, is one the service exports after real traffic — in embedded and clustered mode.
//!
//! The Kubernetes manifests are also checked against Kubernetes's own API schemas, strictly (the
//! `kubernetes-validate` tool from PyPI, in a virtual environment under `target/`). Without a
//! cluster, Docker, HAProxy or Grafana here, nothing asks those whether they accept their files.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{CommandFactory, Parser};
use futures_util::StreamExt;
use futures_util::future::join_all;
use genesys_sim::SimConfig;
use genesys_sim::config::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use public_stats::config::{Args, Serving, Settings};
use serde_json::{Value, json};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::callbacks::{accepted, body_for, wait_for_status};
use crate::helpers::*;
use crate::stats::QUEUE_EWT;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Files under `dir` (recursively) whose name ends with one of `endings`, sorted.
fn files_under(dir: &Path, endings: &[&str]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if endings
                .iter()
                .any(|end| path.to_string_lossy().ends_with(end))
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn yaml_documents(path: &Path) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(&read(path))
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
}

fn text(value: &Value, what: &str) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("{what}: expected a scalar, found {other}"),
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| items.iter().map(|item| text(item, "list item")).collect())
        .unwrap_or_default()
}

// ---- Settings ----

/// Every environment variable the binary reads (what `--help` lists, from the same `Args`) with
/// its flag, plus `RUST_LOG`, which the log filter reads and no flag sets.
fn known_settings() -> BTreeMap<String, Option<String>> {
    let mut known: BTreeMap<String, Option<String>> = Args::command()
        .get_arguments()
        .filter_map(|arg| {
            let env = arg.get_env()?.to_str()?.to_owned();
            Some((env, arg.get_long().map(str::to_owned)))
        })
        .collect();
    known.insert("RUST_LOG".to_owned(), None);
    known
}

fn assert_known<'a>(names: impl IntoIterator<Item = &'a String>, source: &str) {
    let known = known_settings();
    let unknown: Vec<&String> = names
        .into_iter()
        .filter(|name| !known.contains_key(*name))
        .collect();
    assert!(
        unknown.is_empty(),
        "{source} sets {unknown:?}, which public-stats does not read (`public-stats --help` lists \
         what it does)"
    );
}

/// What the binary makes of `env`, checked as it checks its own environment at start. Given as
/// flags, each named by its variable, so that this process's own environment plays no part.
fn settings_from(env: &BTreeMap<String, String>, source: &str) -> Settings {
    assert_known(env.keys(), source);
    let known = known_settings();
    let mut argv = vec!["public-stats".to_owned()];
    for (name, value) in env {
        if let Some(Some(flag)) = known.get(name) {
            argv.push(format!("--{flag}={value}"));
        }
    }
    Args::try_parse_from(&argv)
        .unwrap_or_else(|e| panic!("{source}: {e}"))
        .into_settings()
        .unwrap_or_else(|e| panic!("{source}: {e}"))
}

/// `NAME=value` lines of an env file; comments and blank lines skipped.
fn env_file(path: &Path) -> BTreeMap<String, String> {
    read(path)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (name, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("{}: {line:?} is not NAME=value", path.display()));
            (name.trim().to_owned(), value.trim().to_owned())
        })
        .collect()
}

/// Names in commented-out `# NAME=value` lines: suggestions to the reader, which must be settings
/// too.
fn commented_names(path: &Path) -> Vec<String> {
    read(path)
        .lines()
        .filter_map(|line| line.trim().strip_prefix('#'))
        .filter_map(|rest| rest.trim().split_once('='))
        .map(|(name, _)| name.to_owned())
        .filter(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .collect()
}

#[test]
fn every_yaml_file_under_deploy_parses() {
    let files = files_under(&deploy_dir(), &[".yaml", ".yml"]);
    for expected in [
        "compose.yaml",
        "kubernetes/public-stats.yaml",
        "kubernetes/redis.yaml",
    ] {
        assert!(
            files.iter().any(|f| f.ends_with(expected)),
            "deploy/{expected} is missing: {files:?}"
        );
    }
    for file in &files {
        let documents = yaml_documents(file);
        assert!(!documents.is_empty(), "{} is empty", file.display());
        for document in documents {
            assert!(
                document.is_object(),
                "{}: a document that is not a mapping: {document}",
                file.display()
            );
        }
    }
}

#[test]
fn the_readme_lists_every_setting_the_binary_reads() {
    let readme = read(&deploy_dir().join("../README.md"));
    let rows: BTreeMap<String, String> = readme
        .lines()
        .skip_while(|line| !line.starts_with("## Settings"))
        .skip(1)
        .take_while(|line| !line.starts_with("## "))
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((name.to_owned(), cells.get(2)?.to_string()))
        })
        .collect();
    let known = known_settings();
    let listed: BTreeSet<&String> = rows.keys().collect();
    let read_by_binary: BTreeSet<&String> = known.keys().collect();
    assert_eq!(
        listed, read_by_binary,
        "the README's settings table and the binary's settings differ"
    );
    for (name, flag) in &known {
        let expected = flag
            .as_ref()
            .map_or_else(|| "—".to_owned(), |flag| format!("`--{flag}`"));
        assert_eq!(rows[name], expected, "the README's flag for {name}");
    }
}

// ---- Kubernetes ----

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("deploy/kubernetes has no {kind} {name:?}"))
}

/// `selector` (matchLabels) picks pods labelled `labels`.
fn assert_selects(selector: &Value, labels: &Value, what: &str) {
    let selector = selector
        .as_object()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| panic!("{what} has no selector"));
    for (key, value) in selector {
        assert_eq!(
            &labels[key], value,
            "{what} does not select the pods ({key})"
        );
    }
}

#[test]
fn the_kubernetes_example_holds_together_and_sets_only_settings_the_binary_accepts() {
    let dir = deploy_dir().join("kubernetes");
    let kustomization = yaml_documents(&dir.join("kustomization.yaml")).remove(0);
    let listed: BTreeSet<String> = strings(&kustomization["resources"]).into_iter().collect();
    let present: BTreeSet<String> = files_under(&dir, &[".yaml", ".yml"])
        .iter()
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|name| name != "kustomization.yaml")
        .collect();
    assert_eq!(listed, present, "kustomization.yaml lists every manifest");
    let objects: Vec<Value> = listed
        .iter()
        .flat_map(|file| yaml_documents(&dir.join(file)))
        .collect();
    for object in &objects {
        for field in ["apiVersion", "kind"] {
            assert!(object[field].is_string(), "{field} missing: {object}");
        }
        assert!(object["metadata"]["name"].is_string(), "no name: {object}");
    }

    let deployment = find(&objects, "Deployment", "public-stats");
    assert_eq!(deployment["spec"]["replicas"], 3);
    let pod = &deployment["spec"]["template"];
    let pod_labels = &pod["metadata"]["labels"];
    assert_selects(
        &deployment["spec"]["selector"]["matchLabels"],
        pod_labels,
        "the Deployment",
    );
    let container = pod["spec"]["containers"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["name"] == "public-stats"))
        .expect("a container named public-stats");

    // The environment, as the container gets it.
    let mut env = BTreeMap::new();
    let mut secret_names = BTreeSet::new();
    for source in container["envFrom"].as_array().expect("envFrom") {
        if let Some(name) = source["configMapRef"]["name"].as_str() {
            let data = find(&objects, "ConfigMap", name)["data"]
                .as_object()
                .expect("data");
            for (key, value) in data {
                // The API refuses a ConfigMap whose value is a YAML number or boolean.
                let value = value
                    .as_str()
                    .unwrap_or_else(|| panic!("ConfigMap {name}: quote the value of {key}"));
                env.insert(key.clone(), value.to_owned());
            }
        } else if let Some(name) = source["secretRef"]["name"].as_str() {
            let data = find(&objects, "Secret", name)["stringData"]
                .as_object()
                .expect("stringData");
            for (key, value) in data {
                env.insert(key.clone(), text(value, key));
                secret_names.insert(key.clone());
            }
        } else {
            panic!("an envFrom this test does not know: {source}");
        }
    }
    for variable in container["env"].as_array().into_iter().flatten() {
        let name = text(&variable["name"], "env name");
        env.insert(name, text(&variable["value"], "env value"));
    }
    for secret in [
        "PURECLOUD_CLIENT_ID",
        "PURECLOUD_CLIENT_SECRET",
        "REDIS_URL",
    ] {
        assert!(
            secret_names.contains(secret),
            "{secret} belongs in the Secret"
        );
    }
    let settings = settings_from(&env, "deploy/kubernetes");
    assert!(settings.cluster.is_some(), "the example is clustered");

    // Redis is where REDIS_URL says.
    let redis_url = url::Url::parse(&env["REDIS_URL"]).unwrap();
    let redis_service = find(&objects, "Service", redis_url.host_str().unwrap());
    assert_eq!(
        redis_service["spec"]["ports"][0]["port"],
        redis_url.port().unwrap_or(6379)
    );
    let redis = find(&objects, "StatefulSet", "redis");
    assert_selects(
        &redis_service["spec"]["selector"],
        &redis["spec"]["template"]["metadata"]["labels"],
        "the redis Service",
    );
    assert_durable(
        &strings(&redis["spec"]["template"]["spec"]["containers"][0]["args"]),
        "the redis StatefulSet",
    );

    // Ports, probes, metrics.
    let ports: BTreeMap<String, u64> = container["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| {
            (
                text(&p["name"], "port name"),
                p["containerPort"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ports["http"], u64::from(settings.listen.port()));
    assert_eq!(ports["admin"], u64::from(settings.admin_listen.port()));
    assert!(
        settings.admin_listen.ip().is_unspecified(),
        "Prometheus reaches the admin listener on the pod's address"
    );
    let annotations = &pod["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(annotations["prometheus.io/path"], "/metrics");
    assert_eq!(
        annotations["prometheus.io/port"],
        settings.admin_listen.port().to_string()
    );
    for (probe, path) in [
        ("startupProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
        ("livenessProbe", "/healthz"),
    ] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe}");
        let port = text(&get["port"], probe);
        assert!(ports.contains_key(&port), "{probe} names port {port}");
    }
    for resource in ["cpu", "memory"] {
        assert!(
            container["resources"]["requests"][resource].is_string(),
            "a {resource} request"
        );
    }

    // Shutdown ends before the kill: the preStop pause, the drain, then the rest.
    let grace = pod["spec"]["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("terminationGracePeriodSeconds");
    let pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap_or(0);
    let needed = pause + settings.shutdown_drain.as_secs() + Serving::SHUTDOWN_GRACE.as_secs();
    assert!(grace >= needed, "{grace} s of grace for {needed} s");

    // What reaches the pods.
    let service = find(&objects, "Service", "public-stats");
    assert_selects(&service["spec"]["selector"], pod_labels, "the Service");
    for port in service["spec"]["ports"].as_array().expect("ports") {
        let target = text(&port["targetPort"], "targetPort");
        assert_eq!(target, "http", "the Service exposes the public port only");
    }
    let budget = find(&objects, "PodDisruptionBudget", "public-stats");
    assert_selects(
        &budget["spec"]["selector"]["matchLabels"],
        pod_labels,
        "the PodDisruptionBudget",
    );
}

/// Kubernetes's own schemas (as `kubernetes-validate` bundles them, strict: an unknown field is an
/// error), for the oldest version the example is written for (the `preStop` sleep needs 1.30) and
/// the newest the validator knows.
const KUBERNETES_VALIDATE: &str = "kubernetes-validate==1.37.0";
const KUBERNETES_VERSIONS: [&str; 2] = ["1.30.0", "1.37.0"];

#[test]
fn the_kubernetes_manifests_match_kubernetes_s_schemas() {
    let validate = python_tool(KUBERNETES_VALIDATE, "kubernetes-validate");
    let dir = deploy_dir().join("kubernetes");
    let manifests: Vec<PathBuf> = files_under(&dir, &[".yaml"])
        .into_iter()
        .filter(|path| !path.ends_with("kustomization.yaml"))
        .collect();
    for version in KUBERNETES_VERSIONS {
        let output = std::process::Command::new(&validate)
            .args(["--strict", "--kubernetes-version", version])
            .args(&manifests)
            .output()
            .expect("kubernetes-validate runs");
        assert!(
            output.status.success(),
            "Kubernetes {version} would refuse the example:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// A command-line tool from PyPI, pinned by `requirement`, in a virtual environment under
/// `target/` made when missing or when the pin changed.
fn python_tool(requirement: &str, tool: &str) -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("deploy-check-venv");
    let bin = venv.join("bin");
    // Written last, so a half-finished install is never taken for a finished one.
    let installed = venv.join("installed-requirement.txt");
    if std::fs::read_to_string(&installed).ok().as_deref() == Some(requirement) {
        return bin.join(tool);
    }
    for command in [
        std::process::Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv),
        std::process::Command::new(bin.join("python")).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            requirement,
        ]),
    ] {
        let output = command
            .output()
            .unwrap_or_else(|error| panic!("{command:?} could not start: {error}"));
        assert!(
            output.status.success(),
            "{command:?} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    std::fs::write(&installed, requirement).expect("the venv is writable");
    bin.join(tool)
}

/// Every write on disk before Redis answers, and nothing evicted.
fn assert_durable(args: &[String], what: &str) {
    let line = args.join(" ");
    for needed in [
        "--appendonly yes",
        "--appendfsync always",
        "--maxmemory-policy noeviction",
    ] {
        assert!(line.contains(needed), "{what} lacks {needed}: {line}");
    }
}

// ---- Compose ----

/// `${NAME:-default}` and `${NAME-default}` as compose reads them with NAME unset.
fn interpolate(value: &str) -> String {
    let mut out = value.to_owned();
    while let Some(start) = out.find("${") {
        let end = start + out[start..].find('}').expect("a closed ${…}");
        let inner = &out[start + 2..end];
        let default = inner
            .split_once(":-")
            .or_else(|| inner.split_once('-'))
            .map(|(_, default)| default.to_owned())
            .unwrap_or_else(|| panic!("${{{inner}}} has no default for this test to use"));
        out.replace_range(start..=end, &default);
    }
    out
}

fn compose_environment(service: &Value, dir: &Path) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let files = match &service["env_file"] {
        Value::Null => Vec::new(),
        Value::String(one) => vec![one.clone()],
        Value::Array(many) => many
            .iter()
            .map(|f| text(f.get("path").unwrap_or(f), "env_file"))
            .collect(),
        other => panic!("env_file: {other}"),
    };
    for file in files {
        env.extend(env_file(&dir.join(interpolate(&file))));
    }
    match &service["environment"] {
        Value::Object(map) => {
            for (name, value) in map {
                env.insert(name.clone(), interpolate(&text(value, name)));
            }
        }
        Value::Array(list) => {
            for item in strings(&Value::Array(list.clone())) {
                let (name, value) = item.split_once('=').expect("NAME=value");
                env.insert(name.to_owned(), interpolate(value));
            }
        }
        _ => {}
    }
    env
}

#[test]
fn the_compose_example_holds_together_and_sets_only_settings_the_binary_accepts() {
    let dir = deploy_dir();
    let compose = yaml_documents(&dir.join("compose.yaml")).remove(0);
    let services = compose["services"].as_object().expect("services");
    let instances: BTreeMap<&String, &Value> = services
        .iter()
        .filter(|(_, s)| {
            s["image"]
                .as_str()
                .is_some_and(|i| i.starts_with("public-stats"))
        })
        .collect();
    assert_eq!(instances.len(), 3, "three instances");
    let haproxy_address: std::net::IpAddr = text(
        &services["haproxy"]["networks"]["default"]["ipv4_address"],
        "HAProxy's address",
    )
    .parse()
    .unwrap();

    let mut ports = BTreeSet::new();
    for (name, service) in &instances {
        let source = format!("compose.yaml's {name}");
        let settings = settings_from(&compose_environment(service, &dir), &source);
        let cluster = settings.cluster.as_ref().expect("clustered");
        let redis_host = cluster.url.to_string();
        assert!(
            redis_host.starts_with("redis://redis:"),
            "{source}: {redis_host}"
        );
        assert!(
            settings
                .trusted_proxies
                .is_proxy(SocketAddr::new(haproxy_address, 40000)),
            "{source} trusts HAProxy to name visitors"
        );
        assert!(settings.admin_listen.ip().is_unspecified(), "{source}");
        let open_files = service["ulimits"]["nofile"]["soft"].as_u64().unwrap_or(0);
        assert!(
            open_files > u64::from(settings.socket_limits.total),
            "{source}: {open_files} open files for {} sockets",
            settings.socket_limits.total
        );
        let grace =
            humantime::parse_duration(&text(&service["stop_grace_period"], "stop_grace_period"))
                .unwrap();
        assert!(grace >= settings.shutdown_drain + Serving::SHUTDOWN_GRACE);
        assert_eq!(
            service["depends_on"]["redis"]["condition"],
            "service_healthy"
        );
        ports.insert((settings.listen.port(), settings.admin_listen.port()));
    }
    let [(port, admin_port)]: [(u16, u16); 1] = ports
        .into_iter()
        .collect::<Vec<_>>()
        .try_into()
        .expect("the instances listen alike");

    assert_durable(
        &strings(&services["redis"]["command"]),
        "compose.yaml's redis",
    );

    // HAProxy sends visitors to exactly these instances, and checks their readiness.
    let haproxy = read(&dir.join("haproxy/haproxy.cfg"));
    let servers: BTreeSet<String> = haproxy
        .lines()
        .filter_map(|line| line.trim().strip_prefix("server "))
        .map(|rest| {
            let fields: Vec<&str> = rest.split_whitespace().collect();
            assert_eq!(
                fields[1],
                format!("{}:{port}", fields[0]),
                "HAProxy's {rest}"
            );
            fields[0].to_owned()
        })
        .collect();
    let names: BTreeSet<String> = instances.keys().map(|n| (*n).clone()).collect();
    assert_eq!(servers, names, "HAProxy's servers");
    assert!(haproxy.contains("uri /readyz"), "HAProxy checks /readyz");
    assert!(
        haproxy.contains("timeout tunnel"),
        "WebSockets get a tunnel timeout"
    );

    // Prometheus scrapes every instance's admin listener.
    let prometheus = yaml_documents(&dir.join("prometheus/prometheus.yml")).remove(0);
    let targets: BTreeSet<String> =
        strings(&prometheus["scrape_configs"][0]["static_configs"][0]["targets"])
            .into_iter()
            .collect();
    let expected: BTreeSet<String> = names.iter().map(|n| format!("{n}:{admin_port}")).collect();
    assert_eq!(targets, expected, "Prometheus's targets");

    // The simulator listens where the demo org's settings send the instances.
    let simulator = env_file(&dir.join("simulator.env"));
    let sim_listen = strings(&services["genesys-sim"]["command"]);
    assert_eq!(
        simulator["PURECLOUD_BASE_URL"],
        format!("http://{}", sim_listen[1])
    );

    // The template for a real org, and the image's own defaults.
    let example = dir.join("org.env.example");
    assert_known(env_file(&example).keys(), "org.env.example");
    assert_known(&commented_names(&example), "org.env.example's comments");
    assert_known(&dockerfile_env(&dir.join("Dockerfile")), "the Dockerfile");
}

/// Names the Dockerfile's `ENV` instructions set.
fn dockerfile_env(path: &Path) -> Vec<String> {
    let joined = read(path).replace("\\\n", " ");
    joined
        .lines()
        .filter_map(|line| line.trim().strip_prefix("ENV "))
        .flat_map(|rest| {
            rest.split_whitespace()
                .filter_map(|pair| pair.split_once('='))
                .map(|(name, _)| name.to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

// ---- The dashboard ----

fn dashboard() -> Value {
    let path = deploy_dir().join("grafana/public-stats.json");
    serde_json::from_str(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every panel, those inside collapsed rows included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut all = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        all.push(panel);
        all.extend(panel["panels"].as_array().into_iter().flatten());
    }
    all
}

fn expressions(dashboard: &Value) -> Vec<String> {
    panels(dashboard)
        .into_iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .map(|t| text(&t["expr"], "expr"))
        .collect()
}

#[test]
fn the_dashboard_is_a_grafana_dashboard_over_prometheus() {
    let dashboard = dashboard();
    assert!(dashboard["title"].is_string() && dashboard["uid"].is_string());
    assert!(dashboard["schemaVersion"].as_u64().is_some());
    let variables: Vec<&str> = dashboard["templating"]["list"]
        .as_array()
        .expect("templating")
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    for wanted in ["datasource", "job", "instance"] {
        assert!(variables.contains(&wanted), "variable ${wanted}");
    }
    let mut ids = BTreeSet::new();
    let mut graphs = 0;
    for panel in panels(&dashboard) {
        assert!(
            ids.insert(panel["id"].to_string()),
            "id {} twice",
            panel["id"]
        );
        for field in ["h", "w", "x", "y"] {
            assert!(panel["gridPos"][field].is_u64(), "{panel}");
        }
        if panel["type"] == "row" {
            continue;
        }
        graphs += 1;
        let title = text(&panel["title"], "title");
        assert_eq!(panel["datasource"]["uid"], "${datasource}", "{title}");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title} queries nothing");
        let mut refs = BTreeSet::new();
        for target in targets {
            assert!(!text(&target["expr"], "expr").trim().is_empty(), "{title}");
            assert!(refs.insert(text(&target["refId"], "refId")), "{title}");
        }
    }
    assert!(graphs >= 20, "{graphs} panels");
}

/// What a PromQL expression uses: metric names with the labels its selectors match on, and the
/// labels it aggregates `by` or `without`.
#[derive(Default, Debug)]
struct Uses {
    metrics: BTreeMap<String, BTreeSet<String>>,
    grouping: BTreeSet<String>,
}

/// A small scanner, enough for the dashboard's queries: it skips string literals, so label
/// values (`route="/api/stats/{queueId}"`) are never read as names.
fn uses(expr: &str) -> Uses {
    let chars: Vec<char> = expr.chars().collect();
    let mut uses = Uses::default();
    let mut i = 0;
    let skip_spaces = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_whitespace() {
            *i += 1;
        }
    };
    let word = |i: &mut usize| -> String {
        let start = *i;
        while *i < chars.len() && (chars[*i].is_alphanumeric() || chars[*i] == '_') {
            *i += 1;
        }
        chars[start..*i].iter().collect()
    };
    let string = |i: &mut usize| {
        let quote = chars[*i];
        *i += 1;
        while *i < chars.len() && chars[*i] != quote {
            *i += if chars[*i] == '\\' { 2 } else { 1 };
        }
        *i += 1;
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            string(&mut i);
        } else if c.is_alphabetic() || c == '_' {
            let name = word(&mut i);
            let mut after = i;
            skip_spaces(&mut after);
            if name.starts_with("public_stats_") || name.starts_with("genesys_client_") {
                let labels = uses.metrics.entry(name).or_default();
                if after < chars.len() && chars[after] == '{' {
                    i = after + 1;
                    loop {
                        skip_spaces(&mut i);
                        match chars.get(i) {
                            Some('}') | None => break,
                            Some(',') => i += 1,
                            Some('"' | '\'' | '`') => string(&mut i),
                            Some(c) if c.is_alphabetic() || *c == '_' => {
                                labels.insert(word(&mut i));
                            }
                            Some(_) => i += 1,
                        }
                    }
                    i += 1;
                }
            } else if (name == "by" || name == "without")
                && after < chars.len()
                && chars[after] == '('
            {
                let close = after + chars[after..].iter().position(|c| *c == ')').unwrap();
                let inside: String = chars[after + 1..close].iter().collect();
                uses.grouping.extend(
                    inside
                        .split(',')
                        .map(|l| l.trim().to_owned())
                        .filter(|l| !l.is_empty()),
                );
                i = close + 1;
            }
        } else {
            i += 1;
        }
    }
    uses
}

#[test]
fn the_query_scanner_reads_names_labels_and_groupings() {
    let found = uses(
        r#"histogram_quantile(0.95, sum by (le, route) (rate(public_stats_http_request_duration_seconds_bucket{job=~"$job", route="/api/{x}"}[$__rate_interval]))) / vector(2)"#,
    );
    assert_eq!(
        found.metrics.keys().collect::<Vec<_>>(),
        ["public_stats_http_request_duration_seconds_bucket"]
    );
    assert_eq!(
        found.metrics["public_stats_http_request_duration_seconds_bucket"],
        ["job", "route"].map(String::from).into()
    );
    assert_eq!(found.grouping, ["le", "route"].map(String::from).into());
}

/// Metric families in a Prometheus text scrape: name → (type, every label seen).
fn families(scrape: &str) -> BTreeMap<String, (String, BTreeSet<String>)> {
    let mut families: BTreeMap<String, (String, BTreeSet<String>)> = scrape
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_once(' '))
        .map(|(name, kind)| (name.to_owned(), (kind.to_owned(), BTreeSet::new())))
        .collect();
    for line in scrape.lines().filter(|line| !line.starts_with('#')) {
        let Some((name, labels)) = line.split_once('{') else {
            continue;
        };
        let family = family_of(name, &families).unwrap_or(name).to_owned();
        if let Some((_, seen)) = families.get_mut(&family) {
            // Label values here are the service's own (route patterns, reasons): no quotes or
            // commas inside them to trip this split.
            for pair in labels.split(',') {
                if let Some((label, _)) = pair.split_once('=') {
                    seen.insert(label.trim().to_owned());
                }
            }
        }
    }
    families
}

/// The family a series name belongs to: itself, or the histogram whose `_bucket`, `_sum` or
/// `_count` it is.
fn family_of<'a>(
    name: &'a str,
    families: &BTreeMap<String, (String, BTreeSet<String>)>,
) -> Option<&'a str> {
    if families
        .get(name)
        .is_some_and(|(kind, _)| kind != "histogram")
    {
        return Some(name);
    }
    ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
        let base = name.strip_suffix(suffix)?;
        families
            .get(base)
            .is_some_and(|(kind, _)| kind == "histogram")
            .then_some(base)
    })
}

/// What the dashboard queries that `scrape` does not have, one line each (empty: all there).
fn missing_from(scrape: &str, dashboard: &Value, not_expected: &[&str]) -> Vec<String> {
    let families = families(scrape);
    // Labels Prometheus adds at scrape time, and the histograms' bucket bound.
    let added = ["job", "instance"];
    let mut missing = BTreeSet::new();
    for expr in expressions(dashboard) {
        let uses = uses(&expr);
        let mut grouped_over = BTreeSet::new();
        for (name, labels) in &uses.metrics {
            if not_expected.contains(&name.as_str()) {
                continue;
            }
            let Some(family) = family_of(name, &families) else {
                missing.insert(format!("metric {name}"));
                continue;
            };
            let seen = &families[family].1;
            grouped_over.extend(seen.iter().cloned());
            for label in labels {
                if !seen.contains(label) && !added.contains(&label.as_str()) {
                    missing.insert(format!("label {label} of {name}"));
                }
            }
        }
        if grouped_over.is_empty() {
            continue;
        }
        for label in &uses.grouping {
            if !grouped_over.contains(label) && !added.contains(&label.as_str()) {
                missing.insert(format!("label {label} (by/without) in {expr}"));
            }
        }
    }
    missing.into_iter().collect()
}

#[test]
fn a_name_the_service_does_not_export_is_reported() {
    let scrape = "# TYPE public_stats_a_total counter\npublic_stats_a_total{reason=\"x\"} 1\n\
                  # TYPE public_stats_b_seconds histogram\npublic_stats_b_seconds_bucket{route=\"/\",le=\"+Inf\"} 1\n";
    let dashboard = json!({"panels": [{"targets": [
        {"expr": "sum by (reason) (rate(public_stats_a_total[5m]))"},
        {"expr": "histogram_quantile(0.9, sum by (le, route) (rate(public_stats_b_seconds_bucket[5m])))"},
        {"expr": "sum by (kind) (public_stats_a_total{status=\"1\"}) + public_stats_b_seconds + public_stats_c"},
    ]}]});
    assert_eq!(
        missing_from(scrape, &dashboard, &[]),
        [
            "label kind (by/without) in sum by (kind) (public_stats_a_total{status=\"1\"}) + public_stats_b_seconds + public_stats_c",
            "label status of public_stats_a_total",
            "metric public_stats_b_seconds",
            "metric public_stats_c",
        ]
    );
    assert!(
        missing_from(
            scrape,
            &dashboard,
            &["public_stats_b_seconds", "public_stats_c"]
        )
        .len()
            == 2
    );
}

// ---- The dashboard against the service ----

/// Exported only in clustered mode.
const CLUSTERED_ONLY: [&str; 2] = ["public_stats_cluster_leader", "public_stats_redis_up"];

/// A request budget that refuses statistics polling unless it is nearly full (19 of 20 tokens),
/// so that two estimates asked for at once show a refusal, while callbacks and the notification
/// stream go through; one attempt per call, so an upstream failure shows at once.
fn tight_budget(mut client: genesys::ClientConfig) -> genesys::ClientConfig {
    client.budget.burst = 20;
    client.budget.high_priority_reserve = 2;
    client.budget.normal_priority_reserve = 16;
    client.retry.max_attempts = 1;
    client
}

async fn sim_post(http: &reqwest::Client, sim: &str, path: &str, body: Option<Value>) -> u16 {
    let mut request = http.post(format!("{sim}{path}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn scrape(app: &TestApp) -> String {
    app.http
        .get(format!("http://{}/metrics", app.admin_addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// What a day brings, in a few seconds: statistics, an estimate Genesys fails to give, live
/// sockets (one kept, one the visitor closes, one from a foreign page refused), a callback
/// delivered, and the notification socket dropped and back. Then, until the dashboard's metrics
/// are all exported (or 15 s), estimates for every queue at once, which the budget partly
/// refuses. Returns what is still missing.
async fn exercise(app: &TestApp, sim: &str, not_expected: &[&str]) -> Vec<String> {
    app.wait_ready().await;
    let fault = json!({"route": QUEUE_EWT, "status": 503, "times": 1});
    assert_eq!(
        sim_post(&app.http, sim, "/__sim/faults", Some(fault)).await,
        201
    );
    let (status, body) = app
        .get_json(&format!(
            "/api/stats/{DEMO_SALES_QUEUE}?key=ewt&key=observations"
        ))
        .await;
    assert_eq!(status, 200, "{body}");

    let (mut kept, _) = connect_async(app.ws_url("/")).await.unwrap();
    let (mut left, _) = connect_async(app.ws_url(&format!("/api/stats/{DEMO_SALES_QUEUE}/live")))
        .await
        .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), left.next()).await;
    assert!(matches!(first, Ok(Some(Ok(_)))), "a first frame: {first:?}");
    left.close(None).await.unwrap();
    let mut foreign = app.ws_url("/").into_client_request().unwrap();
    foreign.headers_mut().insert(
        "origin",
        HeaderValue::from_static("https://elsewhere.example"),
    );
    assert!(connect_async(foreign).await.is_err(), "a foreign page");

    let id = accepted(app, &body_for(4242)).await;
    wait_for_status(app, &id, "created").await;

    assert_eq!(
        sim_post(&app.http, sim, "/__sim/notifications/drop", None).await,
        204
    );
    app.wait_ready().await;

    let dashboard = dashboard();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let queues = [DEMO_SALES_QUEUE, DEMO_SUPPORT_QUEUE, DEMO_BILLING_QUEUE];
        join_all(queues.map(|queue| async move {
            app.get_json(&format!("/api/stats/{queue}?key=ewt&mediaType=chat"))
                .await
        }))
        .await;
        let missing = missing_from(&scrape(app).await, &dashboard, not_expected);
        if missing.is_empty() || tokio::time::Instant::now() > deadline {
            let _ = kept.close(None).await;
            return missing;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn every_metric_the_dashboard_queries_is_exported_by_an_embedded_instance() {
    let app = spawn_app_tuned(&[], tight_budget).await;
    let sim = app.sim().base_url();
    let missing = exercise(&app, &sim, &CLUSTERED_ONLY).await;
    assert!(
        missing.is_empty(),
        "the dashboard queries what an embedded instance does not export: {missing:#?}"
    );
}

#[tokio::test]
async fn every_metric_the_dashboard_queries_is_exported_by_a_clustered_instance() {
    let redis = test_redis::RedisServer::start();
    let sim = genesys_sim::spawn(SimConfig::for_tests()).await.unwrap();
    let queues = format!("{DEMO_SALES_QUEUE},{DEMO_SUPPORT_QUEUE},{DEMO_BILLING_QUEUE}");
    let base_url = sim.base_url();
    let redis_url = redis.url();
    let app = spawn_app_tuned(
        &[
            "--client-id",
            DEMO_CLIENT_ID,
            "--client-secret",
            DEMO_CLIENT_SECRET,
            "--base-url",
            &base_url,
            "--monitored-queues",
            &queues,
            "--redis-url",
            &redis_url,
        ],
        tight_budget,
    )
    .await;
    assert!(app.state.settings.cluster.is_some());
    let missing = exercise(&app, &base_url, &[]).await;
    assert!(
        missing.is_empty(),
        "the dashboard queries what a clustered instance does not export: {missing:#?}"
    );
}

//! The dashboard cannot silently rot: every `newspipe_*` metric that the Grafana dashboard, the Prometheus
//! config or its rules name is really exported by the workers after a small run, with low-cardinality labels;
//! Prometheus finds every replica of every worker service by DNS on the compose network.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use yaml_rust2::{Yaml, YamlLoader};

use crate::support::ops::wait_for_dead_letters;
use crate::support::spawn_app;

const MONITORING: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/monitoring");
const REFERENCING_FILES: [&str; 3] = ["grafana/dashboards/newspipe.json", "prometheus.yml", "rules.yml"];
/// Label names a newspipe metric may carry: each has a small, fixed set of values.
const LOW_CARDINALITY_LABELS: [&str; 9] =
    ["queue", "disposition", "stage", "result", "outcome", "reason", "routing_key", "le", "quantile"];

fn read(relative: &str) -> String {
    std::fs::read_to_string(format!("{MONITORING}/{relative}")).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// Every `newspipe_...` metric name in a text (recording rules' `newspipe:...` names are not metrics).
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("newspipe_") {
        let name: String =
            rest[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        // A regular expression (`newspipe_.*`) names no metric.
        if !matches!(rest[start + name.len()..].chars().next(), Some('.' | '*' | '+')) {
            names.insert(name);
        }
        rest = &rest[start + 9..];
    }
    names
}

/// metric name -> label names, from a Prometheus text exposition.
fn exposition(body: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut metrics: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in body.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let labels = metrics.entry(line[..name_end].to_string()).or_default();
        if let Some(open) = line[name_end..].strip_prefix('{') {
            for pair in open.split('}').next().unwrap_or_default().split(',') {
                if let Some((key, _)) = pair.split_once('=') {
                    labels.insert(key.trim().to_string());
                }
            }
        }
    }
    metrics
}

#[tokio::test(flavor = "multi_thread")]
async fn every_metric_the_dashboard_and_prometheus_reference_is_exported_by_the_workers() {
    let referenced: BTreeMap<&str, BTreeSet<String>> =
        REFERENCING_FILES.iter().map(|file| (*file, metric_names(&read(file)))).collect();
    let dashboard: serde_json::Value =
        serde_json::from_str(&read(REFERENCING_FILES[0])).expect("dashboard JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 6, "throughput, depths, latency, outcomes, failure reasons...");
    for panel in panels {
        assert!(!panel["targets"].as_array().unwrap().is_empty(), "panel {} has no query", panel["title"]);
    }
    assert!(referenced[REFERENCING_FILES[0]].len() >= 8, "{referenced:?}");

    // A small run that makes every kind of event happen: stored, 404, a retry, a skip, a dead letter.
    let mut app = spawn_app().await;
    app.start_pipeline();
    app.submit(&[
        app.web.url("/articles/21"),
        app.web.url("/missing/21"),
        app.web.url("/flaky/22"),
        app.web.url("/files/report.pdf"),
    ]);
    app.publish_raw("store", b"not a store request").await;
    app.wait_for_outcomes(4, Duration::from_secs(60)).await;
    wait_for_dead_letters(&app, 1, Duration::from_secs(30)).await;

    let mut exported: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for worker in &app.workers {
        let address = worker.ops_address().await;
        let body = reqwest::get(format!("http://{address}/metrics")).await.unwrap().text().await.unwrap();
        for (name, labels) in exposition(&body) {
            exported.entry(name).or_default().extend(labels);
        }
    }
    for (file, names) in &referenced {
        let missing: Vec<&String> = names.iter().filter(|n| !exported.contains_key(*n)).collect();
        assert!(
            missing.is_empty(),
            "deploy/monitoring/{file} uses metrics no worker exports: {missing:?}\nexported: {:?}",
            exported.keys().filter(|k| k.starts_with("newspipe_")).collect::<Vec<_>>()
        );
        for name in names {
            let bad: Vec<&String> =
                exported[name].iter().filter(|l| !LOW_CARDINALITY_LABELS.contains(&l.as_str())).collect();
            assert!(bad.is_empty(), "{name} has labels {bad:?}, which may have unbounded values");
        }
    }
}

#[test]
fn prometheus_discovers_every_worker_replica_by_dns_and_the_monitoring_profile_is_optional() {
    let prometheus =
        YamlLoader::load_from_str(&read("prometheus.yml")).expect("prometheus.yml is YAML").remove(0);
    let compose_text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docker-compose.yml")).unwrap();
    let compose = YamlLoader::load_from_str(&compose_text).unwrap().remove(0);
    let jobs = prometheus["scrape_configs"].as_vec().unwrap();
    let newspipe = jobs.iter().find(|j| j["job_name"].as_str() == Some("newspipe")).expect("a newspipe job");
    let dns = &newspipe["dns_sd_configs"][0];
    let names: Vec<&str> = dns["names"].as_vec().unwrap().iter().filter_map(Yaml::as_str).collect();
    assert_eq!(names, ["fetcher", "extractor", "store"]);
    for service in names {
        let definition = &compose["services"][service];
        assert!(definition["container_name"].is_badvalue(), "{service} must scale: no container_name");
        assert_eq!(
            definition["environment"]["NEWSPIPE__METRICS__PORT"].as_str().map(str::to_string),
            Some(dns["port"].as_i64().unwrap().to_string()),
            "{service}'s metrics port is the one Prometheus scrapes"
        );
        assert_eq!(definition["environment"]["NEWSPIPE__METRICS__HOST"].as_str(), Some("0.0.0.0"));
    }
    for service in ["prometheus", "grafana"] {
        let profiles =
            compose["services"][service]["profiles"].as_vec().unwrap_or_else(|| panic!("{service}"));
        assert_eq!(
            profiles,
            &vec![Yaml::String("monitoring".into())],
            "{service} only with --profile monitoring"
        );
    }
    let grafana = &compose["services"]["grafana"];
    assert!(
        grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
            .as_str()
            .unwrap()
            .contains("GRAFANA_ADMIN_PASSWORD"),
        "Grafana's admin password comes from .env"
    );
    let plugins =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/rabbitmq/enabled_plugins"))
            .unwrap();
    assert!(plugins.contains("rabbitmq_prometheus"), "queue depths come from RabbitMQ's prometheus plugin");
}

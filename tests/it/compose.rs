//! docker-compose.yml cannot drift from the binaries: each worker service's `command` runs natively with its
//! `environment` (compose's `${VAR}` interpolation done here), against the test services.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use yaml_rust2::{Yaml, YamlLoader};

use crate::support::{Worker, spawn_app};

const WORKER_SERVICES: [(&str, Worker); 4] = [
    ("fetcher", Worker::Fetcher),
    ("extractor", Worker::Extractor),
    ("store", Worker::Store),
    ("warc-reader", Worker::WarcReader),
];

fn compose_file() -> Yaml {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docker-compose.yml");
    let text = std::fs::read_to_string(path).expect("docker-compose.yml at the top of the repository");
    YamlLoader::load_from_str(&text).expect("valid YAML").remove(0)
}

/// Compose's interpolation: `${VAR}`, `${VAR:-default}`, `${VAR:?error}`, and `$$` for a literal `$`.
fn interpolate(value: &str, variables: &BTreeMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(inner) = after.strip_prefix('{') {
            let end = inner.find('}').expect("closed ${");
            let expression = &inner[..end];
            let (name, default) = match expression.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (expression.split(":?").next().unwrap(), None),
            };
            let resolved = variables.get(name).cloned().or(default.map(str::to_string));
            out.push_str(&resolved.unwrap_or_else(|| panic!("compose needs ${name}: {value}")));
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn interpolation_follows_compose() {
    let variables = BTreeMap::from([("PASSWORD", "pw".to_string())]);
    assert_eq!(interpolate("a:${PASSWORD:?set it}@${USER:-newspipe}$$x", &variables), "a:pw@newspipe$x");
}

#[test]
fn worker_services_can_be_scaled_and_wait_for_healthy_dependencies() {
    let compose = compose_file();
    for (name, _) in WORKER_SERVICES {
        let service = &compose["services"][name];
        assert!(!service.is_badvalue(), "service {name} is missing");
        assert!(service["container_name"].is_badvalue(), "{name}: container_name prevents --scale");
        assert!(service["ports"].is_badvalue(), "{name}: fixed host ports prevent --scale");
        assert_eq!(service["build"]["dockerfile"].as_str(), Some("deploy/Dockerfile"), "{name}");
        let depends = service["depends_on"].as_hash().unwrap_or_else(|| panic!("{name}: depends_on"));
        for (_, condition) in depends {
            assert_eq!(condition["condition"].as_str(), Some("service_healthy"), "{name}");
        }
        assert!(!service["healthcheck"].is_badvalue(), "{name} has a healthcheck");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn compose_worker_services_run_natively_with_their_command_and_environment() {
    let compose = compose_file();
    let mut app = spawn_app().await;
    let (amqp, database, variables) = compose_variables(&app);

    for (name, kind) in WORKER_SERVICES {
        let service = &compose["services"][name];
        let command: Vec<&str> = service["command"]
            .as_vec()
            .expect("command as a list")
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(command[0], kind.binary(), "{name} runs its own binary");
        let mut environment: Vec<(String, String)> = Vec::new();
        for (key, value) in service["environment"].as_hash().expect("environment as a map") {
            let key = key.as_str().unwrap().to_string();
            let value = match value {
                Yaml::String(s) => s.clone(),
                Yaml::Integer(i) => i.to_string(),
                Yaml::Boolean(b) => b.to_string(),
                other => panic!("{name}.{key}: unexpected {other:?}"),
            };
            let mut value = interpolate(&value, &variables);
            // Containers reach the services by their compose names; here they are on loopback.
            if key == "AMQP_URL" {
                value = rehost(&value, &amqp);
            } else if key == "DATABASE_URL" {
                value = rehost(&value, &database);
            } else if key == "NEWSPIPE__METRICS__PORT" {
                // Each container has its own port 9100; natively they share a host, so any free port.
                value = "0".into();
            }
            environment.push((key, value));
        }
        app.start_worker_from_compose(kind, &environment);
    }
    for index in 0..app.workers.len() {
        let address = app.workers[index].ops_address().await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let status = reqwest::get(format!("http://{address}/healthz")).await.map(|r| r.status().as_u16());
            if status.is_ok_and(|s| s == 200) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} never became healthy\n{}",
                app.workers[index].kind.binary(),
                app.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log = app.workers[index].log_text();
        assert!(
            log.lines().all(|l| l.trim_start().starts_with('{')),
            "NEWSPIPE__LOG__FORMAT=json gives JSON lines:\n{log}"
        );
    }
    app.submit(&[app.web.url("/articles/5")]);
    app.wait_for_outcomes(1, Duration::from_secs(30)).await;
    assert_eq!(app.outcomes().await[&app.web.url("/articles/5")].0, "stored");
}

/// The test app's broker and database URLs, and the compose variables that point the services at them.
fn compose_variables(app: &crate::support::TestApp) -> (url::Url, url::Url, BTreeMap<&'static str, String>) {
    let amqp = url::Url::parse(&app.amqp_url).unwrap();
    let database = url::Url::parse(&app.database_url).unwrap();
    let variables = BTreeMap::from([
        ("RABBITMQ_USER", amqp.username().to_string()),
        ("RABBITMQ_PASSWORD", amqp.password().unwrap_or_default().to_string()),
        ("POSTGRES_USER", database.username().to_string()),
        ("POSTGRES_PASSWORD", database.password().unwrap_or_default().to_string()),
        ("POSTGRES_DB", app.database_name.clone()),
    ]);
    (amqp, database, variables)
}

/// The compose URL with the test service's host, port and database.
fn rehost(value: &str, service: &url::Url) -> String {
    let mut url = url::Url::parse(value).unwrap_or_else(|e| panic!("{value}: {e}"));
    url.set_host(service.host_str()).unwrap();
    url.set_port(service.port()).unwrap();
    if service.scheme().starts_with("postgres") {
        url.set_path(service.path());
    }
    url.to_string()
}

/// Regression: the image built by deploy/Dockerfile had no `newspipe-warc-reader`, so the compose service
/// `warc-reader` could not start. Every service's command must be a binary the image copies.
#[test]
fn every_compose_command_is_a_binary_the_image_has() {
    let dockerfile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/Dockerfile")).unwrap();
    let copied: Vec<&str> =
        dockerfile.split_whitespace().filter_map(|word| word.strip_prefix("target/release/")).collect();
    let compose = compose_file();
    for (name, service) in compose["services"].as_hash().unwrap() {
        if service["build"].is_badvalue() {
            continue;
        }
        let program = service["command"][0].as_str().unwrap_or_else(|| panic!("{name:?}: command"));
        assert!(
            copied.contains(&program),
            "{name:?} runs {program}, which deploy/Dockerfile does not copy: {copied:?}"
        );
    }
}

/// The `api` service: `newspipe serve` with its compose environment, natively, answering its health check
/// and serving the API; it is scalable (a range of host ports, no container name).
#[tokio::test(flavor = "multi_thread")]
async fn compose_api_service_serves_natively_with_its_command_and_environment() {
    let compose = compose_file();
    let service = &compose["services"]["api"];
    assert!(service["container_name"].is_badvalue(), "container_name prevents --scale");
    let ports = service["ports"][0].as_str().unwrap();
    assert!(ports.contains("8080-80"), "a range of host ports, so that replicas can each take one: {ports}");
    let command: Vec<&str> =
        service["command"].as_vec().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(&command[..2], ["newspipe", "serve"]);
    let app = spawn_app().await;
    let (amqp, database, variables) = compose_variables(&app);
    let mut environment: Vec<(String, String)> =
        app.base_env().into_iter().filter(|(k, _)| k != "AMQP_URL" && k != "DATABASE_URL").collect();
    for (key, value) in service["environment"].as_hash().unwrap() {
        let key = key.as_str().unwrap().to_string();
        let mut value = interpolate(value.as_str().unwrap(), &variables);
        if key == "AMQP_URL" {
            value = rehost(&value, &amqp);
        } else if key == "DATABASE_URL" {
            value = rehost(&value, &database);
        }
        environment.push((key, value));
    }
    // Natively every replica shares the host: any free port instead of the container's 8080.
    let args: Vec<&str> =
        command[1..].iter().map(|a| if a.ends_with(":8080") { "127.0.0.1:0" } else { a }).collect();
    let log = app.dir.join("compose-api.log");
    let file = std::fs::File::create(&log).unwrap();
    let mut child = std::process::Command::new(crate::support::bin("newspipe"))
        .args(&args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(environment)
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    let address = crate::support::api::listening_address(&log);
    let health = reqwest::get(format!("{address}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    let document = reqwest::get(format!("{address}/openapi.json")).await.unwrap();
    assert_eq!(document.status(), 200);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines().filter(|l| !l.starts_with("newspipe serve:")).all(|l| l.trim_start().starts_with('{')),
        "NEWSPIPE__LOG__FORMAT=json gives JSON lines:\n{text}"
    );
    child.kill().unwrap();
    let _ = child.wait();
}

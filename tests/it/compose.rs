//! docker-compose.yml cannot drift from the binaries: each worker service's `command` runs natively with its
//! `environment` (compose's `${VAR}` interpolation done here), against the test services.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use yaml_rust2::{Yaml, YamlLoader};

use crate::support::{Worker, spawn_app};

const WORKER_SERVICES: [(&str, Worker); 5] = [
    ("fetcher", Worker::Fetcher),
    ("extractor", Worker::Extractor),
    ("store", Worker::Store),
    ("warc-reader", Worker::WarcReader),
    ("renderer", Worker::Renderer),
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

fn cluster_override() -> Yaml {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docker-compose.cluster.yml");
    let text =
        std::fs::read_to_string(path).expect("docker-compose.cluster.yml at the top of the repository");
    YamlLoader::load_from_str(&text).expect("valid YAML").remove(0)
}

/// The broker nodes of docker-compose.cluster.yml: each service and its hostname (its node is rabbit@HOSTNAME).
/// Node 1 is docker-compose.yml's `rabbitmq`, which the other services already wait for.
const CLUSTER_NODES: [(&str, &str); 3] =
    [("rabbitmq", "rabbitmq1"), ("rabbitmq2", "rabbitmq2"), ("rabbitmq3", "rabbitmq3")];

/// docker-compose.cluster.yml: three RabbitMQ nodes, each with its own data, one Erlang cookie, and the peers
/// of deploy/rabbitmq/cluster.conf; every service of docker-compose.yml that reaches the broker gets all three
/// nodes in AMQP_URL (with the user, password and vhost it had) and waits for all three to be healthy.
#[test]
fn the_cluster_override_gives_every_broker_client_all_three_nodes() {
    let base = compose_file();
    let cluster = cluster_override();
    let variables = BTreeMap::from([
        ("RABBITMQ_USER", "user".to_string()),
        ("RABBITMQ_PASSWORD", "secret".to_string()),
        ("RABBITMQ_ERLANG_COOKIE", "cookie".to_string()),
    ]);
    let conf = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/rabbitmq/cluster.conf"))
        .expect("deploy/rabbitmq/cluster.conf");
    let peers: Vec<&str> = conf
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once("cluster_formation.classic_config.nodes."))
        .map(|(_, rest)| rest.split_once('=').expect("nodes.N = NODE").1.trim())
        .collect();
    let nodes: Vec<String> = CLUSTER_NODES.iter().map(|(_, hostname)| format!("rabbit@{hostname}")).collect();
    assert_eq!(peers, nodes, "deploy/rabbitmq/cluster.conf lists the override's nodes");

    let mut volumes = Vec::new();
    for (service, hostname) in CLUSTER_NODES {
        let node = &cluster["services"][service];
        assert_eq!(node["hostname"].as_str(), Some(hostname), "{service}: its node is rabbit@{hostname}");
        if service != hostname {
            let aliases = node["networks"]["default"]["aliases"]
                .as_vec()
                .unwrap_or_else(|| panic!("{service}: a network alias {hostname}, for the other nodes"));
            assert!(aliases.iter().any(|a| a.as_str() == Some(hostname)), "{service} answers as {hostname}");
        }
        let mounts: Vec<&str> = node["volumes"]
            .as_vec()
            .unwrap_or_else(|| panic!("{service}: volumes"))
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(
            mounts.contains(&"./deploy/rabbitmq/cluster.conf:/etc/rabbitmq/conf.d/20-cluster.conf:ro"),
            "{service} reads cluster.conf: {mounts:?}"
        );
        let data = mounts
            .iter()
            .find(|m| m.ends_with(":/var/lib/rabbitmq"))
            .unwrap_or_else(|| panic!("{service}: a volume for /var/lib/rabbitmq: {mounts:?}"));
        volumes.push(data.split(':').next().unwrap().to_string());
        let cookie = node["environment"]["RABBITMQ_ERLANG_COOKIE"]
            .as_str()
            .unwrap_or_else(|| panic!("{service}: RABBITMQ_ERLANG_COOKIE"));
        assert_eq!(interpolate(cookie, &variables), "cookie", "{service}: the one cookie of .env");
        let own = !node["healthcheck"].is_badvalue();
        assert!(own || !base["services"][service]["healthcheck"].is_badvalue(), "{service}: a health check");
    }
    volumes.sort();
    volumes.dedup();
    assert_eq!(volumes.len(), CLUSTER_NODES.len(), "each node keeps its own data: {volumes:?}");

    let mut clients = 0;
    for (name, service) in base["services"].as_hash().unwrap() {
        let name = name.as_str().unwrap();
        let Some(single) = service["environment"]["AMQP_URL"].as_str() else { continue };
        clients += 1;
        let single = url::Url::parse(&interpolate(single, &variables)).unwrap();
        let overridden = &cluster["services"][name];
        let list = overridden["environment"]["AMQP_URL"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: docker-compose.cluster.yml gives it an AMQP_URL"));
        let urls: Vec<url::Url> = interpolate(list, &variables)
            .split(',')
            .map(|u| url::Url::parse(u).unwrap_or_else(|e| panic!("{name}: {u}: {e}")))
            .collect();
        let hosts: Vec<&str> = urls.iter().map(|u| u.host_str().unwrap()).collect();
        assert_eq!(hosts, ["rabbitmq1", "rabbitmq2", "rabbitmq3"], "{name}: every node, in AMQP_URL");
        for url in &urls {
            assert_eq!(
                (url.scheme(), url.username(), url.password(), url.port(), url.path()),
                (single.scheme(), single.username(), single.password(), single.port(), single.path()),
                "{name}: {url} is docker-compose.yml's {single} on another node"
            );
        }
        for (node, _) in &CLUSTER_NODES[1..] {
            let condition = overridden["depends_on"][*node]["condition"].as_str();
            assert_eq!(condition, Some("service_healthy"), "{name} waits for {node}");
        }
    }
    assert!(clients > WORKER_SERVICES.len(), "the workers and the API reach the broker ({clients} services)");
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
    // The renderer service renders: once the extractor has seen it consume (it looks every
    // extractor.renderer_check_secs), an app shell comes back with the page's full text.
    let extractor = app.workers.iter().position(|w| w.kind == Worker::Extractor).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !app.workers[extractor].log_text().contains("consumers of the queue changed") {
        assert!(Instant::now() < deadline, "the extractor never saw the renderer\n{}", app.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (article, shell) = (app.web.url("/articles/5"), app.web.url("/spa/7"));
    if !std::path::Path::new("/usr/bin/chromium").exists() {
        eprintln!(
            "the renderer's page skipped: /usr/bin/chromium is not installed (the test command installs it)"
        );
        app.submit(std::slice::from_ref(&article));
        app.wait_for_outcomes(1, Duration::from_secs(30)).await;
        assert_eq!(app.outcomes().await[&article].0, "stored");
        return;
    }
    app.submit(&[article.clone(), shell.clone()]);
    app.wait_for_outcomes(2, Duration::from_secs(90)).await;
    let outcomes = app.outcomes().await;
    assert_eq!(outcomes[&article].0, "stored");
    assert_eq!(outcomes[&shell].0, "stored", "{outcomes:?}\n{}", app.logs());
    let rendered: bool = sqlx::query_scalar("SELECT rendered FROM articles WHERE url = $1")
        .bind(&shell)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(rendered, "the app shell went through the renderer service");
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

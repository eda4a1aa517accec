//! Dependencies that go away and come back, shutdown on signals, and settings that are wrong.

use std::time::{Duration, Instant};

use crate::support::proxy::{Proxy, target_of, through};
use crate::support::{TestApp, Worker, spawn_app};

async fn healthz(address: &str) -> u16 {
    match reqwest::get(format!("http://{address}/healthz")).await {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    }
}

async fn wait_for_health(address: &str, status: u16, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while healthz(address).await != status {
        assert!(Instant::now() < deadline, "/healthz of {address} never answered {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_stops_cleanly_on_sigterm() {
    let mut app = spawn_app().await;
    let fetcher = app.start_worker(Worker::Fetcher);
    let address = app.workers[fetcher].ops_address().await;
    wait_for_health(&address, 200, Duration::from_secs(20)).await;
    app.workers[fetcher].signal("TERM");
    let status =
        app.workers[fetcher].wait_exit(Duration::from_secs(15)).expect("exits within the grace period");
    assert!(status.success(), "exit status {status:?}\n{}", app.logs());
    assert!(app.workers[fetcher].log_text().contains("worker stopped cleanly"), "{}", app.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_setting_stops_the_worker_at_start_with_exit_code_2_naming_the_key() {
    let mut app = spawn_app().await;
    let store = app.start_worker_with(Worker::Store, &[("NEWSPIPE__BROKER__PREFETCH", "lots")]);
    let status = app.workers[store].wait_exit(Duration::from_secs(10)).expect("exits at once");
    assert_eq!(status.code(), Some(2));
    let log = app.workers[store].log_text();
    assert!(log.contains("broker.prefetch") && log.contains("lots"), "{log}");
}

/// The whole pipeline, one worker of it (started last) reaching a service through a proxy the test can cut:
/// `key` is `AMQP_URL` or `DATABASE_URL`. Returns the app, the proxy, that worker's index and its ops
/// address, once it is ready.
async fn pipeline_with_one_behind_a_proxy(behind: Worker, key: &str) -> (TestApp, Proxy, usize, String) {
    let mut app = spawn_app().await;
    let url = if key == "AMQP_URL" { app.amqp_url.clone() } else { app.database_url.clone() };
    let proxy = Proxy::start(target_of(&url)).await;
    let proxied = through(&url, &proxy);
    for kind in Worker::ALL.into_iter().filter(|kind| *kind != behind) {
        app.start_worker(kind);
    }
    let worker = app.start_worker_with(behind, &[(key, &proxied)]);
    let address = app.workers[worker].ops_address().await;
    wait_for_health(&address, 200, Duration::from_secs(20)).await;
    (app, proxy, worker, address)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_rides_out_a_broker_outage_and_resumes() {
    let (app, proxy, fetcher, address) = pipeline_with_one_behind_a_proxy(Worker::Fetcher, "AMQP_URL").await;

    proxy.cut();
    wait_for_health(&address, 503, Duration::from_secs(20)).await;
    app.submit(&[app.web.url("/articles/1")]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(app.outcome_count().await, 0, "nothing is fetched while the fetcher has no broker");

    proxy.restore();
    wait_for_health(&address, 200, Duration::from_secs(30)).await;
    app.wait_for_outcomes(1, Duration::from_secs(30)).await;
    assert_eq!(app.outcomes().await[&app.web.url("/articles/1")].0, "stored");
    assert!(app.workers[fetcher].log_text().contains("reconnecting"), "{}", app.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_store_holds_its_messages_while_the_database_is_away() {
    let (app, proxy, _, address) = pipeline_with_one_behind_a_proxy(Worker::Store, "DATABASE_URL").await;

    proxy.cut();
    let urls: Vec<String> = (1..=3).map(|n| app.web.url(&format!("/articles/{n}"))).collect();
    app.submit(&urls);
    wait_for_health(&address, 503, Duration::from_secs(20)).await;
    assert_eq!(app.outcome_count().await, 0);

    proxy.restore();
    app.wait_for_outcomes(3, Duration::from_secs(30)).await;
    wait_for_health(&address, 200, Duration::from_secs(20)).await;
    let outcomes = app.outcomes().await;
    assert!(urls.iter().all(|u| outcomes[u].0 == "stored"), "{outcomes:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn passwords_never_appear_in_what_a_worker_prints() {
    let mut app = spawn_app().await;
    let store = app.start_worker(Worker::Store);
    let fetcher = app.start_worker(Worker::Fetcher);
    for index in [store, fetcher] {
        let address = app.workers[index].ops_address().await;
        wait_for_health(&address, 200, Duration::from_secs(20)).await;
    }
    // And with the broker unreachable, the connection error must not print it either.
    let unreachable = "amqp://newspipe:hunter2-secret@127.0.0.1:9/%2f";
    let lost = app.start_worker_with(Worker::Extractor, &[("AMQP_URL", unreachable)]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let password = |url: &str| url::Url::parse(url).unwrap().password().unwrap().to_string();
    let secrets = [password(&app.amqp_url), password(&app.database_url), "hunter2-secret".to_string()];
    for worker in &app.workers {
        let log = worker.log_text();
        assert!(!log.is_empty());
        for secret in &secrets {
            assert!(!log.contains(secret.as_str()), "{} printed a password:\n{log}", worker.kind.binary());
        }
    }
    assert!(app.workers[lost].log_text().contains("reconnecting"), "{}", app.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_refuses_the_guest_password_for_a_broker_beyond_this_machine() {
    let mut app = spawn_app().await;
    let extractor = app.start_worker_with(
        Worker::Extractor,
        &[("AMQP_URL", "amqp://guest:guest@rabbitmq.example:5672/%2f")],
    );
    let status = app.workers[extractor].wait_exit(Duration::from_secs(10)).expect("exits at once");
    assert_eq!(status.code(), Some(2));
    let log = app.workers[extractor].log_text();
    assert!(log.contains("broker.url") && log.contains("real password"), "{log}");
    assert!(!log.contains("guest:guest"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fetch_in_flight_when_the_broker_goes_away_is_redone_and_not_left_counted_in_flight() {
    let (app, proxy, _fetcher, address) = pipeline_with_one_behind_a_proxy(Worker::Fetcher, "AMQP_URL").await;

    // Cut the broker while the fetcher is downloading a slow page (1.5 s): it cannot publish the page nor
    // ack the job, so the job comes back and is fetched again once the broker is back.
    app.submit(&[app.web.url("/slow/1")]);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while app.web.slow_concurrency() == 0 {
        assert!(std::time::Instant::now() < deadline, "the slow page was never requested\n{}", app.logs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.restore();
    assert_eq!(app.wait_for_outcomes(1, Duration::from_secs(30)).await, 1, "{}", app.logs());
    assert_eq!(app.outcomes().await[&app.web.url("/slow/1")].0, "stored");
    let in_flight = crate::delivery::metric(&address, "newspipe_messages_in_flight", "queue=\"fetch\"").await;
    assert_eq!(in_flight, 0.0, "nothing is in flight once the job is done\n{}", app.logs());
}

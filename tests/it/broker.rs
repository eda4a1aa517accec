//! The consume loop itself, with handlers written for the test, against the real broker.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use lapin::options::{BasicAckOptions, BasicGetOptions};
use newspipe_broker::{Disposition, Handler, Incoming, Outgoing, Queue, run_consumer};
use tokio_util::sync::CancellationToken;

use crate::support::{TestApp, spawn_app};

/// Panics on a body of `panic`, asks for a retry on `retry` (its last attempt publishes `gave up` to the
/// store queue), and forwards anything else to the store queue.
struct ScriptedHandler {
    calls: AtomicU32,
}

impl Handler for ScriptedHandler {
    async fn handle(&self, message: Incoming) -> Disposition {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match message.body.as_slice() {
            b"panic" => panic!("boom on purpose"),
            b"retry" => Disposition::Retry {
                reason: "flaky".into(),
                after: None,
                exhausted: vec![Outgoing::json(
                    Queue::Store,
                    format!("gave up after {}", message.attempt).into_bytes(),
                )],
            },
            other => Disposition::Forward(vec![Outgoing::json(Queue::Store, other.to_vec())]),
        }
    }
}

async fn get_all(app: &TestApp, queue: &str) -> Vec<Vec<u8>> {
    let connection = app.amqp().await;
    let channel = connection.create_channel().await.unwrap();
    let mut bodies = Vec::new();
    while let Some(message) = channel.basic_get(queue.into(), BasicGetOptions::default()).await.unwrap() {
        bodies.push(message.delivery.data.clone());
        message.delivery.acker.ack(BasicAckOptions::default()).await.unwrap();
    }
    bodies
}

async fn wait_for_messages(app: &TestApp, queue: &str, n: usize) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    while seen.len() < n {
        assert!(Instant::now() < deadline, "only {} of {n} messages reached {queue}: {seen:?}", seen.len());
        seen.extend(get_all(app, queue).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    seen
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_handler_dead_letters_its_message_and_the_loop_goes_on() {
    let app = spawn_app().await;
    let settings = app.broker_settings();
    let handler = Arc::new(ScriptedHandler { calls: AtomicU32::new(0) });
    let shutdown = CancellationToken::new();
    let consumer = {
        let (handler, shutdown) = (handler.clone(), shutdown.clone());
        let ready = Arc::new(AtomicBool::new(false));
        tokio::spawn(async move { run_consumer(&settings, Queue::Extract, handler, ready, shutdown).await })
    };
    app.publish_raw("extract", b"panic").await;
    app.publish_raw("extract", b"after the panic").await;

    let forwarded = wait_for_messages(&app, &app.topology().queue_name(Queue::Store), 1).await;
    assert_eq!(forwarded, vec![b"after the panic".to_vec()]);
    let dead = wait_for_messages(&app, &app.topology().dead_queue(), 1).await;
    assert_eq!(dead, vec![b"panic".to_vec()]);
    shutdown.cancel();
    consumer.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_message_comes_back_through_the_delay_queues_then_publishes_its_failure() {
    let app = spawn_app().await;
    let settings = app.broker_settings(); // 3 attempts, 200 ms then 800 ms
    let handler = Arc::new(ScriptedHandler { calls: AtomicU32::new(0) });
    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let consumer = {
        let (handler, shutdown) = (handler.clone(), shutdown.clone());
        let ready = Arc::new(AtomicBool::new(false));
        tokio::spawn(async move { run_consumer(&settings, Queue::Extract, handler, ready, shutdown).await })
    };
    app.publish_raw("extract", b"retry").await;
    let forwarded = wait_for_messages(&app, &app.topology().queue_name(Queue::Store), 1).await;
    assert_eq!(forwarded, vec![b"gave up after 3".to_vec()]);
    assert!(started.elapsed() >= Duration::from_millis(1000), "the delays were waited out");
    assert_eq!(handler.calls.load(Ordering::SeqCst), 3, "one call per attempt, no duplicates");
    assert!(get_all(&app, &app.topology().dead_queue()).await.is_empty());
    shutdown.cancel();
    consumer.await.unwrap().unwrap();
}

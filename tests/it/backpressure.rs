//! Queue length limits against the real broker: a full work queue refuses publishes (`reject-publish`), the
//! publisher backs off and retries until there is room, and nothing is lost or dropped on the way.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use lapin::options::{BasicAckOptions, BasicGetOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use newspipe_broker::{
    BrokerSettings, Disposition, Handler, Incoming, Outgoing, PublishError, Publisher, Queue, QueueLengths,
    Topology, run_consumer,
};
use tokio_util::sync::CancellationToken;

use crate::support::{TestApp, spawn_app};

/// The app's settings with a store queue of `store_length` messages.
fn limited(app: &TestApp, store_length: u32, full_queue_wait_secs: u64) -> BrokerSettings {
    BrokerSettings {
        max_queue_length: QueueLengths { store: store_length, ..QueueLengths::default() },
        full_queue_wait_secs,
        shutdown_grace_secs: 1,
        ..app.broker_settings()
    }
}

async fn declared(app: &TestApp, topology: &Topology) -> (Connection, Channel) {
    let connection = app.amqp().await;
    let channel = connection.create_channel().await.unwrap();
    topology.declare(&channel).await.unwrap();
    (connection, channel)
}

/// Ready messages in a queue (unacked ones are not counted).
async fn depth(channel: &Channel, queue: &str) -> u32 {
    channel
        .queue_declare(queue.into(), QueueDeclareOptions::default().passive(), FieldTable::default())
        .await
        .unwrap()
        .message_count()
}

async fn get_one(channel: &Channel, queue: &str) -> Option<Vec<u8>> {
    let message = channel.basic_get(queue.into(), BasicGetOptions::default()).await.unwrap()?;
    message.delivery.acker.ack(BasicAckOptions::default()).await.unwrap();
    Some(message.delivery.data.clone())
}

/// Waits until `queue` holds at least `limit` ready messages and stops growing; returns how many it holds.
/// A quorum queue checks its limit as it enqueues, so it can end a little over it (one message for a lone
/// publisher) before it refuses.
async fn fills_up(channel: &Channel, queue: &str, limit: u32) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    while depth(channel, queue).await < limit {
        assert!(Instant::now() < deadline, "{queue} never reached {limit} messages");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let full = depth(channel, queue).await;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(depth(channel, queue).await, full, "{queue} is full and must not grow");
    }
    full
}

/// Takes messages off `queue` one by one, slowly, until `n` were taken.
async fn drain(channel: &Channel, queue: &str, n: usize) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut taken = Vec::new();
    while taken.len() < n {
        assert!(Instant::now() < deadline, "only {} of {n} messages came out of {queue}", taken.len());
        match get_one(channel, queue).await {
            Some(body) => taken.push(body),
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    taken
}

fn bodies(range: std::ops::Range<u32>) -> Vec<Vec<u8>> {
    range.map(|i| format!("message {i}").into_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_publisher_meeting_a_full_queue_waits_and_gets_every_message_in_once_a_consumer_drains_it() {
    let app = spawn_app().await;
    let settings = limited(&app, 3, 120);
    let topology = Topology::new(&settings);
    let (_connection, channel) = declared(&app, &topology).await;
    let store = topology.queue_name(Queue::Store);

    let publishing = {
        let connection = app.amqp().await;
        let topology = topology.clone();
        tokio::spawn(async move {
            let publisher = Publisher::open(&connection, topology, Duration::from_secs(30)).await?;
            for body in bodies(0..12) {
                publisher.publish(&Outgoing::json(Queue::Store, body)).await?;
            }
            Ok::<_, newspipe_broker::BrokerError>(connection)
        })
    };
    let full = fills_up(&channel, &store, 3).await;
    assert!(full <= 4, "a lone publisher overshoots the limit of 3 by one message at most, not {full}");
    assert!(!publishing.is_finished(), "12 messages cannot all be in a queue of {full}");

    let taken = drain(&channel, &store, 12).await;
    publishing.await.unwrap().expect("every publish is confirmed in the end");
    assert_eq!(taken, bodies(0..12), "every message, once, in order");
    assert_eq!(depth(&channel, &store).await, 0);
    assert_eq!(depth(&channel, &topology.dead_queue()).await, 0, "nothing was dead-lettered");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_publisher_gives_up_on_a_queue_that_stays_full_with_an_error_naming_the_limit() {
    let app = spawn_app().await;
    let settings = limited(&app, 1, 1);
    let topology = Topology::new(&settings);
    let (connection, channel) = declared(&app, &topology).await;
    let publisher = Publisher::open(&connection, topology.clone(), Duration::from_secs(30)).await.unwrap();
    let mut accepted = Vec::new();
    let error = loop {
        let body = format!("message {}", accepted.len()).into_bytes();
        match publisher.publish(&Outgoing::json(Queue::Store, body.clone())).await {
            Ok(()) => accepted.push(body),
            Err(error) => break error,
        }
        assert!(accepted.len() <= 2, "a queue of 1 took {} messages", accepted.len());
    };
    assert!(matches!(error, PublishError::Refused { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("/store") && message.contains("broker.max_queue_length"), "{message}");
    let store = topology.queue_name(Queue::Store);
    let mut kept = Vec::new();
    while let Some(body) = get_one(&channel, &store).await {
        kept.push(body);
    }
    assert_eq!(kept, accepted, "the queue holds what it confirmed, and not the refused message");
}

/// Forwards every message to the store queue.
struct Forward;

impl Handler for Forward {
    async fn handle(&self, message: Incoming) -> Disposition {
        Disposition::Forward(vec![Outgoing::json(Queue::Store, message.body)])
    }
}

fn start_consumer(
    settings: &BrokerSettings,
) -> (CancellationToken, tokio::task::JoinHandle<Result<(), newspipe_broker::BrokerError>>) {
    let shutdown = CancellationToken::new();
    let task = {
        let (settings, shutdown) = (settings.clone(), shutdown.clone());
        let ready = Arc::new(AtomicBool::new(false));
        tokio::spawn(async move {
            run_consumer(&settings, Queue::Extract, Arc::new(Forward), ready, shutdown).await
        })
    };
    (shutdown, task)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_whose_next_queue_is_full_keeps_its_input_unacked_and_forwards_everything_once_there_is_room()
 {
    let app = spawn_app().await;
    let settings = BrokerSettings { prefetch: 4, ..limited(&app, 2, 120) };
    let topology = Topology::new(&settings);
    let (connection, channel) = declared(&app, &topology).await;
    let (extract, store) = (topology.queue_name(Queue::Extract), topology.queue_name(Queue::Store));
    let publisher = Publisher::open(&connection, topology.clone(), Duration::from_secs(30)).await.unwrap();
    for body in bodies(0..20) {
        publisher.publish(&Outgoing::json(Queue::Extract, body)).await.unwrap();
    }

    // The worker forwards until the store queue is full, then every publish is refused: it waits, holding
    // its input. (Publishes already on their way when the queue fills still get in: at most `prefetch`.)
    let (shutdown, worker) = start_consumer(&settings);
    let forwarded = fills_up(&channel, &store, 2).await;
    assert!(
        forwarded <= 2 + 4,
        "the store queue, limited to 2, took {forwarded} from a worker of prefetch 4"
    );
    // Stopped while waiting, it has acked only what it forwarded: the rest is back in its queue.
    shutdown.cancel();
    worker.await.unwrap().unwrap();
    // (The broker takes a moment to put back what a closed connection held.)
    let deadline = Instant::now() + Duration::from_secs(10);
    while depth(&channel, &extract).await < 20 - forwarded && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(depth(&channel, &extract).await, 20 - forwarded, "what was not forwarded was not acked");
    assert_eq!(depth(&channel, &store).await, forwarded);

    // Started again while something drains the store queue: everything gets through, once.
    let (shutdown, worker) = start_consumer(&settings);
    let mut taken = drain(&channel, &store, 20).await;
    taken.sort();
    let mut expected = bodies(0..20);
    expected.sort();
    assert_eq!(taken, expected, "every message forwarded exactly once");
    assert_eq!(depth(&channel, &extract).await, 0);
    assert_eq!(depth(&channel, &topology.dead_queue()).await, 0, "nothing was dead-lettered");
    shutdown.cancel();
    worker.await.unwrap().unwrap();
    assert_eq!(depth(&channel, &store).await, 0, "no message was forwarded twice");
}

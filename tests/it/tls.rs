//! TLS to the broker (`amqps://`, `cacertfile`) and to PostgreSQL (`sslmode`, `sslrootcert`), with a private
//! certificate authority made by `openssl` for the test.
//!
//! PostgreSQL: a private instance of the test's own (initdb in a temporary folder) with `ssl=on` and a
//! `pg_hba.conf` that refuses unencrypted connections. RabbitMQ: the shared broker behind a TLS-terminating
//! proxy of the test's (rustls), so what is tested is the workers' client side: the TLS handshake with
//! certificate verification against the CA file, then AMQP through it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use lapin::options::{BasicAckOptions, BasicGetOptions};
use newspipe_broker::{Outgoing, Publisher, Queue, Topology};
use newspipe_db::{Database, DatabaseSettings};
use sqlx::{Connection, PgConnection};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types::pem::PemObject};

use crate::support::spawn_app;

/// A certificate authority and a server certificate it signed, for `localhost` and `127.0.0.1`.
struct Certificates {
    dir: PathBuf,
}

impl Certificates {
    fn make(dir: &Path) -> Certificates {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
        for args in [
            "req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=newspipe-test-ca",
            "req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost",
            "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.crt -days 2 \
             -extfile server.ext",
            // Another authority, which signed nothing of this server's.
            "req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other-ca.pem -days 2 -subj /CN=other",
        ] {
            let output = Command::new("openssl")
                .args(args.split_whitespace())
                .current_dir(dir)
                .output()
                .expect("run openssl");
            assert!(output.status.success(), "openssl {args}: {}", String::from_utf8_lossy(&output.stderr));
        }
        Certificates { dir: dir.to_path_buf() }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A PostgreSQL of the test's own that only takes TLS connections; stopped and deleted when dropped.
struct TlsPostgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
}

impl TlsPostgres {
    fn start(dir: &Path, certificates: &Certificates) -> TlsPostgres {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL server binaries under /usr/lib/postgresql")
            .map(|entry| entry.unwrap().path().join("bin"))
            .filter(|bin| bin.join("initdb").exists())
            .max()
            .expect("an initdb under /usr/lib/postgresql");
        let postgres = TlsPostgres { dir: dir.to_path_buf(), bin, port: free_port() };
        let data = dir.join("data");
        std::fs::create_dir_all(dir).unwrap();
        for file in ["server.crt", "server.key"] {
            std::fs::copy(certificates.dir.join(file), dir.join(file)).unwrap();
        }
        // PostgreSQL refuses to run as root: then it runs as `postgres`, which must own its files.
        if is_root() {
            let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir).status().unwrap();
            assert!(status.success(), "chown {}", dir.display());
        }
        postgres.run("initdb", &["-D", &data.display().to_string(), "-U", "postgres", "--auth=trust"]);
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
        )
        .unwrap();
        let options = format!(
            "-c port={} -c listen_addresses=127.0.0.1 -c unix_socket_directories={dir} -c fsync=off -c ssl=on \
             -c ssl_cert_file={dir}/server.crt -c ssl_key_file={dir}/server.key",
            postgres.port,
            dir = dir.display()
        );
        let log = dir.join("postgres.log").display().to_string();
        postgres
            .run("pg_ctl", &["-D", &data.display().to_string(), "-l", &log, "-w", "-o", &options, "start"]);
        postgres
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let output = self.tool(tool, args).unwrap_or_else(|e| panic!("run {tool}: {e}"));
        let log = std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default();
        assert!(
            output.status.success(),
            "{tool} {args:?}: {}{}\n{log}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Runs a PostgreSQL tool: as `postgres` when this is root (the server refuses to run as root).
    fn tool(&self, tool: &str, args: &[&str]) -> std::io::Result<std::process::Output> {
        let program = self.bin.join(tool);
        if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&program)
                .args(args)
                .current_dir("/")
                .output()
        } else {
            Command::new(&program).args(args).output()
        }
    }

    fn url(&self, query: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres?{query}", self.port)
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let _ = self.tool("pg_ctl", &["-D", data.as_str(), "-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

fn test_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("newspipe-it-tls-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn postgresql_over_tls_verifies_the_server_against_sslrootcert_and_the_store_runs_on_it() {
    let dir = test_dir("pg");
    let certificates = Certificates::make(&dir.join("certs"));
    let postgres = TlsPostgres::start(&dir.join("pg"), &certificates);

    let verified = postgres.url(&format!("sslmode=verify-full&sslrootcert={}", certificates.path("ca.pem")));
    let mut connection = PgConnection::connect(&verified).await.expect("connect with sslmode=verify-full");
    let (ssl, version): (bool, Option<String>) =
        sqlx::query_as("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&mut connection)
            .await
            .unwrap();
    assert!(ssl, "the session is encrypted ({version:?})");
    connection.close().await.unwrap();

    // The store's own connection code, migrations included, over the same URL.
    let settings = DatabaseSettings { url: verified.clone().into(), ..DatabaseSettings::default() };
    let database = Database::connect(&settings).await.expect("the store's database over TLS");
    database.migrate().await.expect("migrations over TLS");
    let tables: i64 =
        sqlx::query_scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = 'articles'")
            .fetch_one(database.pool())
            .await
            .unwrap();
    assert_eq!(tables, 1);

    // `require` encrypts without verifying; the server refuses anything unencrypted.
    PgConnection::connect(&postgres.url("sslmode=require")).await.expect("connect with sslmode=require");
    let refused = PgConnection::connect(&postgres.url("sslmode=disable")).await.unwrap_err().to_string();
    assert!(refused.contains("no encryption") || refused.contains("pg_hba.conf"), "{refused}");
    // A server certificate from another authority is refused by verify-full.
    let other =
        postgres.url(&format!("sslmode=verify-full&sslrootcert={}", certificates.path("other-ca.pem")));
    let unverified = PgConnection::connect(&other).await.unwrap_err().to_string();
    assert!(unverified.to_lowercase().contains("certificate") || unverified.contains("tls"), "{unverified}");
    drop(postgres);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Terminates TLS with the test's server certificate and forwards the bytes to `upstream`.
async fn tls_proxy(certificates: &Certificates, upstream: String) -> (u16, Arc<AtomicU32>) {
    let certs: Vec<_> = rustls::pki_types::CertificateDer::pem_file_iter(certificates.path("server.crt"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(certificates.path("server.key")).unwrap();
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handshakes = Arc::new(AtomicU32::new(0));
    let counted = handshakes.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (acceptor, upstream, counted) = (acceptor.clone(), upstream.clone(), counted.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else { return };
                counted.fetch_add(1, Ordering::SeqCst);
                let Ok(mut broker) = TcpStream::connect(&upstream).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut broker).await;
            });
        }
    });
    (port, handshakes)
}

#[tokio::test(flavor = "multi_thread")]
async fn amqps_with_a_ca_file_publishes_and_consumes_through_tls_and_an_unknown_authority_is_refused() {
    let app = spawn_app().await;
    let dir = test_dir("amqp");
    let certificates = Certificates::make(&dir);
    let plain = url::Url::parse(&app.amqp_url).unwrap();
    let upstream = format!("{}:{}", plain.host_str().unwrap(), plain.port().unwrap_or(5672));
    let (port, handshakes) = tls_proxy(&certificates, upstream).await;
    let mut secure = plain.clone();
    secure.set_scheme("amqps").unwrap();
    secure.set_port(Some(port)).unwrap();
    let without_ca = secure.to_string();
    secure.set_query(Some(&format!("cacertfile={}", certificates.path("ca.pem"))));

    let error = newspipe_broker::connect(&without_ca.as_str().into(), "tls test")
        .await
        .expect_err("an unknown authority");
    assert!(!error.to_string().contains(plain.password().unwrap()), "no password in {error}");
    assert_eq!(
        handshakes.load(Ordering::SeqCst),
        0,
        "the handshake failed: the certificate was checked ({error})"
    );

    let connection =
        newspipe_broker::connect(&secure.as_str().into(), "tls test").await.expect("connect with amqps");
    assert!(handshakes.load(Ordering::SeqCst) >= 1, "the connection went through the TLS proxy");
    let topology = Topology::new(&app.broker_settings());
    let channel = connection.create_channel().await.unwrap();
    topology.declare(&channel).await.unwrap();
    let publisher =
        Publisher::open(&connection, topology.clone(), std::time::Duration::from_secs(30)).await.unwrap();
    publisher.publish(&Outgoing::json(Queue::Fetch, b"over tls".to_vec())).await.unwrap();
    let message = channel
        .basic_get(topology.queue_name(Queue::Fetch).as_str().into(), BasicGetOptions::default())
        .await
        .unwrap()
        .expect("the message published over TLS");
    message.delivery.acker.ack(BasicAckOptions::default()).await.unwrap();
    assert_eq!(message.delivery.data, b"over tls");
    let _ = connection.close(200, "bye".into()).await;
    let _ = std::fs::remove_dir_all(&dir);
}

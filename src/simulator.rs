//! What `bazaar psp` and `bazaar carrier` share: a server on one thread (its calls are a few
//! microseconds of work each; a second worker would add a thread switch to most of them)
//! that listens where it is told, answers without Nagle's delay, prints
//! `bazaar TOOL NAME listening on http://ADDRESS` for the scripts and tests that start it,
//! and on SIGTERM or Ctrl-C lets the calls in flight finish for up to `grace`.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::serve::ListenerExt;

/// Serves `app` until SIGTERM or Ctrl-C.
pub(crate) fn serve(
    tool: &str,
    name: &str,
    listen: SocketAddr,
    app: Router,
    grace: Duration,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let stop = crate::shutdown_signal()?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let address = listener.local_addr()?;
        let listener = listener.tap_io(|connection| {
            // Answers go out at once; a failure only costs latency.
            let _ = connection.set_nodelay(true);
        });
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let server = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopping_rx.await;
        });
        let server = tokio::spawn(async move { server.await });
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "bazaar {tool} {name} listening on http://{address}")?;
            out.flush()?;
        }
        stop.await;
        let _ = stopping_tx.send(());
        match tokio::time::timeout(grace, server).await {
            Ok(joined) => joined??,
            Err(_) => tracing::warn!(tool, "calls still in flight after {grace:?}, stopping"),
        }
        anyhow::Ok(())
    })
}

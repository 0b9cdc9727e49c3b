//! What the service logs, captured for a test: a thread-local `tracing` subscriber writing to
//! memory. `#[tokio::test]` runs the test, the service and its tasks on one thread, so the
//! subscriber sees every event of the service the test spawned (and none of other tests').

use std::sync::{Arc, LazyLock, Mutex};

use tracing::subscriber::DefaultGuard;

/// The captured log; logging stops when it is dropped.
pub struct CapturedLogs {
    text: Arc<Mutex<Vec<u8>>>,
    _guard: DefaultGuard,
}

impl CapturedLogs {
    /// Everything logged so far, one event per line, without colours.
    pub fn text(&self) -> String {
        let bytes = self.text.lock().unwrap_or_else(|p| p.into_inner()).clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// tracing-core treats a lone scoped dispatcher as "just one" and then works out a new callsite's
/// interest from the registering thread's default: another test's thread, with no subscriber,
/// would cache "never" for everyone. A second live dispatcher makes it ask every one, on every
/// thread.
static SECOND_DISPATCH: LazyLock<tracing::Dispatch> =
    LazyLock::new(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));

/// Captures this thread's logs (all levels) until the returned value is dropped.
pub fn capture_logs() -> CapturedLogs {
    LazyLock::force(&SECOND_DISPATCH);
    let text = Arc::new(Mutex::new(Vec::new()));
    let sink = Sink(text.clone());
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();
    CapturedLogs {
        text,
        _guard: guard,
    }
}

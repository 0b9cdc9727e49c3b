// Temporary runner until tests/client/main.rs exists; removed before hand-off.
#[path = "client/stream.rs"]
mod stream;

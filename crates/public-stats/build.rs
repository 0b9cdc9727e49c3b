// Embeds the widget's files (../../widget) into the binary, pre-compressed, so a deployment is one
// file. memory-serve does the embedding, ETags and gzip/brotli negotiation.
fn main() {
    memory_serve::load_directory("../../widget");
}

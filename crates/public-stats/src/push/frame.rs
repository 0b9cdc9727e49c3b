//! A text message put in its WebSocket frame once for all the sockets that receive it: a
//! server's frames are never masked (RFC 6455 §5.1), so the bytes on the wire are the same for
//! every client, and each socket writes them with one `write`, without a copy or a header of its
//! own. It is not what the messages say (`stats` makes them) nor how they are sent (`socket`).

use bytes::Bytes;
use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{Data, OpCode};

/// One final, unmasked text frame: header and payload in one reference-counted buffer, so
/// cloning it for every socket copies a pointer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextFrame {
    wire: Bytes,
    header_length: usize,
}

impl TextFrame {
    pub fn new(text: &str) -> TextFrame {
        let header = FrameHeader {
            opcode: OpCode::Data(Data::Text),
            ..FrameHeader::default()
        };
        // The longest header is 14 bytes (a masked frame's with a 64-bit length).
        let mut wire = Vec::with_capacity(14 + text.len());
        // Writing to a `Vec` cannot fail.
        let _ = header.format(text.len() as u64, &mut wire);
        let header_length = wire.len();
        wire.extend_from_slice(text.as_bytes());
        TextFrame {
            wire: Bytes::from(wire),
            header_length,
        }
    }

    /// The bytes to write to the connection.
    pub fn wire(&self) -> &[u8] {
        &self.wire
    }

    /// The same bytes, shared.
    pub fn bytes(&self) -> Bytes {
        self.wire.clone()
    }

    /// The message itself.
    pub fn text(&self) -> &str {
        // Made from a `&str` in `new`, so always UTF-8.
        std::str::from_utf8(&self.wire[self.header_length..]).unwrap_or_default()
    }
}

impl From<&str> for TextFrame {
    fn from(text: &str) -> TextFrame {
        TextFrame::new(text)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    #[test]
    fn the_wire_bytes_read_back_as_one_final_unmasked_text_frame() {
        for size in [0, 125, 126, 65_535, 65_536] {
            let text = "é".repeat(size / 2) + &"x".repeat(size % 2);
            let frame = TextFrame::new(&text);
            let mut cursor = Cursor::new(frame.wire());
            let (header, length) = FrameHeader::parse(&mut cursor).unwrap().unwrap();
            assert_eq!(length, text.len() as u64);
            assert!(header.is_final && header.mask.is_none());
            assert_eq!(header.opcode, OpCode::Data(Data::Text));
            assert_eq!(&frame.wire()[cursor.position() as usize..], text.as_bytes());
            assert_eq!(frame.text(), text);
        }
    }
}

//! Option haggling: from the greeting to the transmission phase (or a clean end).

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tracing::debug;

use super::proto::{self, InfoRequest, OptionHeader};
use super::server::NbdSessionError;
use super::{BlockDevice, NbdExport};

/// How option haggling ended.
#[derive(Debug)]
pub(super) enum Outcome {
    /// The client aborted or hung up between options: nothing more to do.
    Closed,
    /// Enter transmission; bounds are checked against `size`, the size the client was
    /// told.
    Transmission {
        /// The export's size as advertised.
        size: u64,
    },
}

/// Runs the handshake: greeting, client flags, then options until the client aborts,
/// hangs up, or enters transmission with `NBD_OPT_GO` or `NBD_OPT_EXPORT_NAME`.
pub(super) async fn negotiate<R, W, D>(
    rd: &mut R,
    wr: &mut W,
    export: &NbdExport<D>,
) -> Result<Outcome, NbdSessionError>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
    D: BlockDevice,
{
    wr.write_all(&proto::greeting()).await?;
    wr.flush().await?;
    let raw = rd.read_u32().await?;
    let client = proto::parse_client_flags(raw).ok_or(NbdSessionError::ClientFlags(raw))?;

    loop {
        // A client may hang up between options (e.g. a port probe): that is not an error.
        if rd.fill_buf().await?.is_empty() {
            debug!("nbd client hung up during option haggling");
            return Ok(Outcome::Closed);
        }
        let mut header = [0u8; 16];
        rd.read_exact(&mut header).await?;
        let OptionHeader { option, len } =
            OptionHeader::decode(&header).map_err(NbdSessionError::OptionMagic)?;
        if len > proto::MAX_OPTION_DATA {
            return Err(NbdSessionError::OptionTooLong { option, len });
        }
        // Bounded by MAX_OPTION_DATA just above.
        let mut data = vec![0u8; len as usize];
        rd.read_exact(&mut data).await?;
        debug!(option, len, "nbd option");

        match option {
            proto::OPT_EXPORT_NAME => {
                // This option cannot carry an error: refusing means hanging up.
                if !export.matches(&data) {
                    return Err(NbdSessionError::ExportRefused(format!(
                        "unknown export {:?}",
                        String::from_utf8_lossy(&data)
                    )));
                }
                if let Some(reason) = export.device.unavailable() {
                    return Err(NbdSessionError::ExportRefused(reason));
                }
                let size = export.device.size();
                let reply =
                    proto::export_name_reply(size, proto::TRANSMISSION_FLAGS, client.no_zeroes);
                wr.write_all(&reply).await?;
                wr.flush().await?;
                return Ok(Outcome::Transmission { size });
            }
            proto::OPT_ABORT => {
                // The client may already have closed; a failed ack is not an error.
                let ack = proto::option_reply(option, proto::REP_ACK, &[]);
                let _ = wr.write_all(&ack).await;
                let _ = wr.flush().await;
                return Ok(Outcome::Closed);
            }
            proto::OPT_LIST => {
                let out = list(export, &data);
                wr.write_all(&out).await?;
            }
            proto::OPT_INFO | proto::OPT_GO => {
                let (out, size) = info(export, option, &data);
                wr.write_all(&out).await?;
                if let (proto::OPT_GO, Some(size)) = (option, size) {
                    wr.flush().await?;
                    return Ok(Outcome::Transmission { size });
                }
            }
            _ => {
                // Structured replies, TLS, metadata contexts, extended headers and
                // anything unknown: every client must cope with NBD_REP_ERR_UNSUP.
                let text = proto::message("option not supported by this server");
                wr.write_all(&proto::option_reply(option, proto::REP_ERR_UNSUP, &text))
                    .await?;
            }
        }
        wr.flush().await?;
    }
}

/// The replies to `NBD_OPT_LIST`: the one export and an ack, or an error.
///
/// An unavailable device answers `NBD_REP_ERR_UNKNOWN` with the reason rather than an
/// empty list, so the person listing sees why (e.g. "this node is Secondary").
fn list<D: BlockDevice>(export: &NbdExport<D>, data: &[u8]) -> Vec<u8> {
    let opt = proto::OPT_LIST;
    if !data.is_empty() {
        let text = proto::message("NBD_OPT_LIST takes no data");
        return proto::option_reply(opt, proto::REP_ERR_INVALID, &text);
    }
    if let Some(reason) = export.device.unavailable() {
        return proto::option_reply(opt, proto::REP_ERR_UNKNOWN, &proto::message(&reason));
    }
    let server = proto::rep_server(export.name.as_bytes(), &proto::message(&export.description));
    let mut out = proto::option_reply(opt, proto::REP_SERVER, &server);
    out.extend_from_slice(&proto::option_reply(opt, proto::REP_ACK, &[]));
    out
}

/// The replies to `NBD_OPT_INFO` or `NBD_OPT_GO`, and the advertised size if they end
/// in an ack.
///
/// An unknown name or an unavailable device answers `NBD_REP_ERR_UNKNOWN` ("the chosen
/// export does not exist on this server" / "is not available") with the reason as the
/// message, rather than `NBD_REP_ERR_SHUTDOWN`: the server itself is not going away,
/// and the client may ask again later (after a failover this node may be Primary).
fn info<D: BlockDevice>(export: &NbdExport<D>, option: u32, data: &[u8]) -> (Vec<u8>, Option<u64>) {
    let Some(req) = InfoRequest::decode(data) else {
        let text = proto::message("malformed NBD_OPT_INFO/NBD_OPT_GO data");
        return (
            proto::option_reply(option, proto::REP_ERR_INVALID, &text),
            None,
        );
    };
    if !export.matches(&req.name) {
        let text = format!("unknown export {:?}", String::from_utf8_lossy(&req.name));
        let reply = proto::option_reply(option, proto::REP_ERR_UNKNOWN, &proto::message(&text));
        return (reply, None);
    }
    if let Some(reason) = export.device.unavailable() {
        let reply = proto::option_reply(option, proto::REP_ERR_UNKNOWN, &proto::message(&reason));
        return (reply, None);
    }
    let size = export.device.size();
    let info = |data: &[u8]| proto::option_reply(option, proto::REP_INFO, data);
    let mut out = info(&proto::info_export(size, proto::TRANSMISSION_FLAGS));
    if req.items.contains(&proto::INFO_NAME) {
        out.extend_from_slice(&info(&proto::info_string(
            proto::INFO_NAME,
            export.name.as_bytes(),
        )));
    }
    if req.items.contains(&proto::INFO_DESCRIPTION) && !export.description.is_empty() {
        let text = proto::message(&export.description);
        out.extend_from_slice(&info(&proto::info_string(proto::INFO_DESCRIPTION, &text)));
    }
    // Sent even when not asked for: the defaults the protocol assumes are the same, but
    // saying so costs nothing and tells clients the 32 MiB cap.
    out.extend_from_slice(&info(&proto::info_block_size()));
    out.extend_from_slice(&proto::option_reply(option, proto::REP_ACK, &[]));
    (out, Some(size))
}

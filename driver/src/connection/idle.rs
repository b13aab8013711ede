//! An idle connection: what the server sends while nothing is asked of it.

use std::task::{Context, Poll, Waker};

use crate::failure::Result;

use super::Connection;

impl Connection {
    /// Waits, on an idle connection, for one asynchronous message (notification, notice,
    /// parameter change) and handles it. An error the server sends unasked (FATAL, as
    /// from `pg_terminate_backend`) or a closed socket is returned, and the connection is
    /// marked broken.
    pub(crate) async fn wait_for_async_message(&mut self) -> Result<()> {
        self.ready().await?;
        let r = async {
            let h = self.io.fill_frame().await?;
            if self.handle_async(h)? {
                Ok(())
            } else {
                Err(self.unexpected_frame(h, "an asynchronous message on an idle connection"))
            }
        }
        .await;
        self.note(r)
    }

    /// Whether an idle connection still looks usable, without waiting and without a round
    /// trip: reads whatever the server sent while it sat idle. Notices, notifications and
    /// parameter changes are handled as usual; an error (the server ending the session, as
    /// after `pg_terminate_backend` or a shutdown), end of file, or any other message marks
    /// the connection broken.
    pub(crate) fn poll_idle_health(&mut self) -> bool {
        if !self.is_idle() {
            return false;
        }
        let mut cx = Context::from_waker(Waker::noop());
        // Bounded: a flood of notifications must not keep the acquire here.
        for _ in 0..16 {
            match self.io.poll_read_some(&mut cx) {
                Poll::Pending => break,
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => {
                    self.mark_broken(e.display_chain().to_string());
                    break;
                }
            }
        }
        loop {
            let outcome: Result<bool> = match self.io.has_frame() {
                Ok(None) => break,
                Ok(Some(h)) => self.handle_async(h),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(true) => {}
                Ok(false) => {
                    self.mark_broken("the server sent a message while the connection was idle");
                    break;
                }
                Err(e) => {
                    self.mark_broken(e.display_chain().to_string());
                    break;
                }
            }
        }
        !self.is_closed()
    }
}

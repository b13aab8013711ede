//! Authentication exchanges as state machines fed with bytes (no IO).

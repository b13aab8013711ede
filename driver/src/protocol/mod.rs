//! The PostgreSQL wire protocol (3.0 and 3.2) as a sans-IO codec.

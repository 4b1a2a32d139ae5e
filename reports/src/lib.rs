//! Run records, aggregation and rendering (design.md §2: reports only read files, so a report can be
//! re-rendered without re-running).

mod record;

pub use record::{End, Meta, OpRecord, Phase, Record, Sample, Violation, RECORD_SCHEMA_VERSION};

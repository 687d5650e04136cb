//! Reading and writing the results tables: `<name>.csv` (what every reader of the project reads back) and
//! `<name>.parquet` (for analysis tools), both written atomically from one `DataFrame`. Reading parses each cell by
//! its schema's column type, so a damaged or foreign table is refused with the file, row and column named.
//!
//! The Parquet files are in the widely read layout: text columns are plain Parquet UTF-8 byte arrays, and the Arrow
//! schema the file carries (its `ARROW:schema` key) declares them `large_string`, polars' oldest compatibility
//! level. polars would otherwise declare its in-memory `string_view`, which pyarrow reads only from version 16 on,
//! and which older pyarrow (so older pandas stacks), R's arrow and Spark may not read at all.
use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use polars::prelude::{
    CompatLevel, CsvReadOptions, CsvWriter, DataFrame, IntoColumn, KeyValueMetadata, NamedFrom, ParquetCompression,
    ParquetWriter, PlSmallStr, SchemaExt, SerReader, SerWriter, Series,
};
use serde_json::{Map, Number, Value};

use super::{frame, Column, Kind, Schema, Table};

/// One row as column name -> typed JSON value (null for an empty optional cell). The layer `verify`, the report
/// and the figures work on, so that they handle every table alike.
pub type Record = Map<String, Value>;

/// Write `rows` as `<name>.csv` and `<name>.parquet` in `results_dir`, atomically.
pub fn write_table<T: Table>(results_dir: &Path, rows: &[T]) -> Result<()> {
    let mut frame = frame::to_frame(&T::SCHEMA, rows)?;
    write_frame(results_dir, &T::SCHEMA, &mut frame)
}

/// Write records of `schema` (the generic layer `verify`, the claims and tests work on) as CSV and Parquet.
pub fn write_records(results_dir: &Path, schema: &Schema, records: &[Record]) -> Result<()> {
    let columns = schema
        .columns
        .iter()
        .map(|column| {
            let cells = records.iter().map(|r| r.get(column.name).filter(|v| !v.is_null()));
            let name = PlSmallStr::from_static(column.name);
            match column.kind {
                Kind::Text => {
                    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    Series::new(name, cells.map(|v| v.map(text)).collect::<Vec<Option<String>>>())
                }
                Kind::Integer => Series::new(name, cells.map(|v| v.and_then(Value::as_i64)).collect::<Vec<_>>()),
                Kind::Float => Series::new(name, cells.map(|v| v.and_then(Value::as_f64)).collect::<Vec<_>>()),
            }
            .into_column()
        })
        .collect();
    let mut frame = DataFrame::new(records.len(), columns)?;
    write_frame(results_dir, schema, &mut frame)
}

/// Write a table's frame as CSV and Parquet, atomically.
fn write_frame(results_dir: &Path, schema: &Schema, frame: &mut DataFrame) -> Result<()> {
    crate::atomic::write_with(&schema.csv_path(results_dir), |tmp| {
        let mut file = fs::File::create(tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        CsvWriter::new(&mut file).finish(frame).with_context(|| format!("cannot write {}", tmp.display()))?;
        file.sync_all().with_context(|| format!("cannot flush {}", tmp.display()))
    })?;
    crate::atomic::write_with(&schema.parquet_path(results_dir), |tmp| {
        let file = fs::File::create(tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        ParquetWriter::new(file)
            .with_compression(ParquetCompression::Uncompressed)
            .with_key_value_metadata(Some(widely_read_arrow_schema(frame)))
            .finish(frame)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        Ok(())
    })
}

/// The `ARROW:schema` entry of `frame` at polars' oldest compatibility level (strings as `large_string`): given to
/// the writer, it replaces the `string_view` schema polars would write (the writer adds its own only when none is
/// given). The data pages do not change: Parquet stores both as UTF-8 byte arrays.
fn widely_read_arrow_schema(frame: &DataFrame) -> KeyValueMetadata {
    let schema = frame.schema().to_arrow(CompatLevel::oldest());
    KeyValueMetadata::Static(vec![polars_parquet::write::schema_to_metadata_key(&schema)])
}

/// Read `<name>.csv` of table `T` from `results_dir`.
pub fn read_table<T: Table>(results_dir: &Path) -> Result<Vec<T>> {
    let path = T::SCHEMA.csv_path(results_dir);
    records_into_rows(&path, read_records(&path, &T::SCHEMA, &[])?)
}

/// Typed rows of table `T` from records read from `path`.
pub(super) fn records_into_rows<T: Table>(path: &Path, records: Vec<Record>) -> Result<Vec<T>> {
    records
        .into_iter()
        .enumerate()
        .map(|(i, record)| {
            serde_json::from_value(Value::Object(record))
                .with_context(|| format!("{}: row {} does not fit the {} table", path.display(), i + 1, T::SCHEMA.name))
        })
        .collect()
}

/// Read table `T` if its CSV exists in `results_dir` (a run may not have produced every table).
pub fn read_table_if_present<T: Table>(results_dir: &Path) -> Result<Option<Vec<T>>> {
    if T::SCHEMA.csv_path(results_dir).exists() {
        read_table(results_dir).map(Some)
    } else {
        Ok(None)
    }
}

/// Read a CSV of `schema` into typed records. `defaults` fill columns the file lacks (used to import the
/// original's CSVs, which have no `profile` or `seed`); any other missing required column is an error.
pub fn read_records(path: &Path, schema: &Schema, defaults: &[(&str, Value)]) -> Result<Vec<Record>> {
    let frame = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .and_then(|reader| reader.finish())
        .with_context(|| format!("cannot read {} as CSV", path.display()))?;
    let height = frame.height();
    let mut records = vec![Record::new(); height];
    for column in schema.columns {
        let Ok(cells) = frame.column(column.name) else {
            let default = defaults.iter().find(|(name, _)| *name == column.name);
            match (default, column.optional) {
                (Some((_, value)), _) => {
                    records.iter_mut().for_each(|r| _ = r.insert(column.name.into(), value.clone()))
                }
                (None, true) => records.iter_mut().for_each(|r| _ = r.insert(column.name.into(), Value::Null)),
                (None, false) => bail!(
                    "{} has no column '{}', which the {} table requires (columns: {})",
                    path.display(),
                    column.name,
                    schema.name,
                    schema.columns.iter().map(|c| c.name).collect::<Vec<_>>().join(",")
                ),
            }
            continue;
        };
        let cells = cells.str().with_context(|| format!("{}: column '{}' is not text", path.display(), column.name))?;
        for (i, (record, cell)) in records.iter_mut().zip(cells.iter()).enumerate() {
            let value = parse_cell(column, cell.map(str::trim).filter(|s| !s.is_empty())).with_context(|| {
                format!("{}: row {}, column '{}' ({:?})", path.display(), i + 1, column.name, cell.unwrap_or(""))
            })?;
            record.insert(column.name.into(), value);
        }
    }
    Ok(records)
}

fn parse_cell(column: &Column, cell: Option<&str>) -> Result<Value> {
    let Some(text) = cell else {
        if column.optional {
            return Ok(Value::Null);
        }
        bail!("the cell is empty, but the column is required");
    };
    Ok(match column.kind {
        Kind::Text => Value::String(text.to_string()),
        Kind::Integer => Value::from(text.parse::<i64>().with_context(|| format!("'{text}' is not an integer"))?),
        Kind::Float => {
            let x = text.parse::<f64>().with_context(|| format!("'{text}' is not a number"))?;
            Value::Number(Number::from_f64(x).with_context(|| format!("'{text}' is not a finite number"))?)
        }
    })
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use polars::prelude::ArrowDataType;
    use polars_arrow::io::ipc::read::deserialize_schema;
    use polars_parquet::parquet::read::read_metadata;
    use polars_parquet::parquet::schema::types::{ParquetType, PhysicalType, PrimitiveLogicalType};

    use super::*;
    use crate::results::SCHEMAS;

    /// One record of `schema` with every cell filled.
    fn full_record(schema: &Schema) -> Record {
        let cell = |kind: Kind| match kind {
            Kind::Text => Value::from("text, with a comma"),
            Kind::Integer => Value::from(3),
            Kind::Float => Value::from(2.5),
        };
        schema.columns.iter().map(|c| (c.name.to_owned(), cell(c.kind))).collect()
    }

    /// What a reader that knows no Arrow view types sees of every table: each text column is a plain Parquet
    /// UTF-8 byte array, and the file's own Arrow schema (the `ARROW:schema` key, read from the footer) declares it
    /// `large_string`, never `string_view`; integers and floats are int64 and double.
    #[test]
    fn every_table_is_written_in_the_widely_read_parquet_layout() {
        let dir = tempfile::tempdir().unwrap();
        for schema in SCHEMAS {
            write_records(dir.path(), schema, &[full_record(schema)]).unwrap();
            let path = schema.parquet_path(dir.path());
            let metadata = read_metadata(&mut fs::File::open(&path).unwrap()).unwrap();
            assert_eq!(metadata.num_rows, 1, "{}", schema.name);
            let entries = metadata.key_value_metadata.clone().unwrap_or_default();
            let keys: Vec<&str> = entries.iter().map(|kv| kv.key.as_str()).collect();
            assert_eq!(keys, ["ARROW:schema"], "{}: one Arrow schema, ours", schema.name);
            // The IPC schema message as written (after Arrow's 8-byte continuation prefix), decoded as it stands:
            // polars' own Parquet reader would convert every string type to a view on reading.
            let encoded = entries[0].value.as_deref().unwrap();
            let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
            let (arrow, _, _) = deserialize_schema(&bytes[8..]).unwrap();
            let fields = metadata.schema().fields();
            assert_eq!(fields.len(), schema.columns.len(), "{}", schema.name);
            for (column, field) in schema.columns.iter().zip(fields) {
                let ParquetType::PrimitiveType(primitive) = field else { panic!("{}: nested column", column.name) };
                let declared = &arrow.get(column.name).unwrap().dtype;
                let (physical, logical, arrow_type) = match column.kind {
                    Kind::Text => {
                        (PhysicalType::ByteArray, Some(PrimitiveLogicalType::String), ArrowDataType::LargeUtf8)
                    }
                    Kind::Integer => (PhysicalType::Int64, None, ArrowDataType::Int64),
                    Kind::Float => (PhysicalType::Double, None, ArrowDataType::Float64),
                };
                let what = format!("{}.{}", schema.name, column.name);
                assert_eq!(primitive.physical_type, physical, "{what}");
                assert_eq!(primitive.logical_type, logical, "{what}");
                assert_eq!(declared, &arrow_type, "{what}");
            }
        }
    }
}

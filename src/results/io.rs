//! Reading and writing the results tables: `<name>.csv` (what every reader of the project reads back) and
//! `<name>.parquet` (for analysis tools), both written atomically from one `DataFrame`. Reading parses each cell by
//! its schema's column type, so a damaged or foreign table is refused with the file, row and column named.
use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use polars::prelude::{
    CsvReadOptions, CsvWriter, DataFrame, IntoColumn, NamedFrom, ParquetCompression, ParquetWriter, PlSmallStr,
    SerReader, SerWriter, Series,
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
            .finish(frame)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        Ok(())
    })
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

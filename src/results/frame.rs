//! Table rows straight into a polars `DataFrame`: a serde `Serializer` that appends each field of a row to its
//! column, typed by the table's [`Schema`]. Rows are plain structs (with the [`super::RunKey`] flattened in), so one
//! generic writer serves every table, and no row passes through an intermediate representation.
use polars::prelude::{DataFrame, IntoColumn, NamedFrom, PlSmallStr, Series};
use serde::ser::{self, Impossible, Serialize, SerializeMap, SerializeStruct};

use super::{Kind, Schema};

/// The cells of one column as they are appended.
enum Cells {
    Text(Vec<Option<String>>),
    Integer(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
}

/// The rows of `schema` as a `DataFrame` with the schema's columns, in its order.
pub(crate) fn to_frame<T: Serialize>(schema: &Schema, rows: &[T]) -> anyhow::Result<DataFrame> {
    let mut columns: Vec<Cells> = schema
        .columns
        .iter()
        .map(|c| match c.kind {
            Kind::Text => Cells::Text(Vec::with_capacity(rows.len())),
            Kind::Integer => Cells::Integer(Vec::with_capacity(rows.len())),
            Kind::Float => Cells::Float(Vec::with_capacity(rows.len())),
        })
        .collect();
    for (i, row) in rows.iter().enumerate() {
        row.serialize(RowSerializer { schema, columns: &mut columns, filled: vec![false; schema.columns.len()] })
            .map_err(|e| anyhow::anyhow!("row {} of the {} table: {e}", i + 1, schema.name))?;
    }
    let columns = schema
        .columns
        .iter()
        .zip(columns)
        .map(|(column, cells)| {
            let name = PlSmallStr::from_static(column.name);
            match cells {
                Cells::Text(v) => Series::new(name, v),
                Cells::Integer(v) => Series::new(name, v),
                Cells::Float(v) => Series::new(name, v),
            }
            .into_column()
        })
        .collect();
    Ok(DataFrame::new(rows.len(), columns)?)
}

/// Why a row cannot be written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct FrameError(String);

impl ser::Error for FrameError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        FrameError(msg.to_string())
    }
}

fn unsupported<T>(what: &str) -> Result<T, FrameError> {
    Err(FrameError(format!("a table cell cannot hold {what}")))
}

/// Serialises one row: a struct or, where a key is flattened in, a map of field names to cells.
struct RowSerializer<'a> {
    schema: &'a Schema,
    columns: &'a mut Vec<Cells>,
    filled: Vec<bool>,
}

impl RowSerializer<'_> {
    fn field<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), FrameError> {
        let index =
            self.schema.columns.iter().position(|c| c.name == name).ok_or_else(|| {
                FrameError(format!("field '{name}' is not a column of the {} table", self.schema.name))
            })?;
        let cell = value.serialize(CellSerializer)?;
        match (&mut self.columns[index], cell) {
            (Cells::Text(v), Cell::Text(t)) => v.push(Some(t)),
            (Cells::Integer(v), Cell::Integer(x)) => v.push(Some(x)),
            (Cells::Float(v), Cell::Float(x)) => v.push(Some(x)),
            (Cells::Float(v), Cell::Integer(x)) => v.push(Some(x as f64)),
            (Cells::Text(v), Cell::Null) => v.push(None),
            (Cells::Integer(v), Cell::Null) => v.push(None),
            (Cells::Float(v), Cell::Null) => v.push(None),
            (_, other) => return Err(FrameError(format!("column '{name}' cannot hold {other:?}"))),
        }
        self.filled[index] = true;
        Ok(())
    }

    fn finish(self) -> Result<(), FrameError> {
        match self.filled.iter().position(|f| !f) {
            Some(missing) => Err(FrameError(format!("the row has no field '{}'", self.schema.columns[missing].name))),
            None => Ok(()),
        }
    }
}

impl<'a> ser::Serializer for RowSerializer<'a> {
    type Ok = ();
    type Error = FrameError;
    type SerializeSeq = Impossible<(), FrameError>;
    type SerializeTuple = Impossible<(), FrameError>;
    type SerializeTupleStruct = Impossible<(), FrameError>;
    type SerializeTupleVariant = Impossible<(), FrameError>;
    type SerializeMap = MapRow<'a>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), FrameError>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, FrameError> {
        Ok(self)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<MapRow<'a>, FrameError> {
        Ok(MapRow { row: self, key: None })
    }

    fn serialize_bool(self, _: bool) -> Result<(), FrameError> {
        unsupported("a row that is a bool")
    }
    fn serialize_i8(self, _: i8) -> Result<(), FrameError> {
        unsupported("a row that is a number")
    }
    fn serialize_i16(self, _: i16) -> Result<(), FrameError> {
        unsupported("a row that is a number")
    }
    fn serialize_i32(self, _: i32) -> Result<(), FrameError> {
        unsupported("a row that is a number")
    }
    fn serialize_i64(self, _: i64) -> Result<(), FrameError> {
        unsupported("a row that is a number")
    }
    fn serialize_u8(self, _: u8) -> Result<(), FrameError> {
        unsupported("a row that is a number")
    }
    fn serialize_u16(self, _: u16) -> Result<(), FrameError> {
        unsupported("a row that is a number")
    }
    fn serialize_u32(self, _: u32) -> Result<(), FrameError> {
        unsupported("a row that is a number")
    }
    fn serialize_u64(self, _: u64) -> Result<(), FrameError> {
        unsupported("a row that is a number")
    }
    fn serialize_f32(self, _: f32) -> Result<(), FrameError> {
        unsupported("a row that is a number")
    }
    fn serialize_f64(self, _: f64) -> Result<(), FrameError> {
        unsupported("a row that is a number")
    }
    fn serialize_char(self, _: char) -> Result<(), FrameError> {
        unsupported("a row that is a character")
    }
    fn serialize_str(self, _: &str) -> Result<(), FrameError> {
        unsupported("a row that is text")
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), FrameError> {
        unsupported("bytes")
    }
    fn serialize_none(self) -> Result<(), FrameError> {
        unsupported("a missing row")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), FrameError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), FrameError> {
        unsupported("a unit row")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), FrameError> {
        unsupported("a unit row")
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), FrameError> {
        unsupported("a row that is an enum")
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), FrameError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), FrameError> {
        unsupported("a row that is an enum")
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, FrameError> {
        unsupported("a row that is a list")
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, FrameError> {
        unsupported("a row that is a tuple")
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, FrameError> {
        unsupported("a row that is a tuple")
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, FrameError> {
        unsupported("a row that is an enum")
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, FrameError> {
        unsupported("a row that is an enum")
    }
}

impl SerializeStruct for RowSerializer<'_> {
    type Ok = ();
    type Error = FrameError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), FrameError> {
        self.field(key, value)
    }

    fn end(self) -> Result<(), FrameError> {
        self.finish()
    }
}

/// A row serialised as a map (serde does this for structs with a `#[serde(flatten)]` field).
struct MapRow<'a> {
    row: RowSerializer<'a>,
    key: Option<String>,
}

impl SerializeMap for MapRow<'_> {
    type Ok = ();
    type Error = FrameError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), FrameError> {
        match key.serialize(CellSerializer)? {
            Cell::Text(name) => self.key = Some(name),
            other => return Err(FrameError(format!("a column name must be text, not {other:?}"))),
        }
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), FrameError> {
        let key = self.key.take().ok_or_else(|| FrameError("a value without a column name".into()))?;
        self.row.field(&key, value)
    }

    fn end(self) -> Result<(), FrameError> {
        self.row.finish()
    }
}

/// One cell's value.
#[derive(Debug)]
enum Cell {
    Text(String),
    Integer(i64),
    Float(f64),
    Null,
}

/// Serialises one cell: text (strings and the vocabulary's names), integers, floats, or an empty optional cell.
struct CellSerializer;

impl ser::Serializer for CellSerializer {
    type Ok = Cell;
    type Error = FrameError;
    type SerializeSeq = Impossible<Cell, FrameError>;
    type SerializeTuple = Impossible<Cell, FrameError>;
    type SerializeTupleStruct = Impossible<Cell, FrameError>;
    type SerializeTupleVariant = Impossible<Cell, FrameError>;
    type SerializeMap = Impossible<Cell, FrameError>;
    type SerializeStruct = Impossible<Cell, FrameError>;
    type SerializeStructVariant = Impossible<Cell, FrameError>;

    fn serialize_bool(self, v: bool) -> Result<Cell, FrameError> {
        Ok(Cell::Integer(i64::from(v)))
    }
    fn serialize_i8(self, v: i8) -> Result<Cell, FrameError> {
        Ok(Cell::Integer(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Cell, FrameError> {
        Ok(Cell::Integer(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Cell, FrameError> {
        Ok(Cell::Integer(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Cell, FrameError> {
        Ok(Cell::Integer(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Cell, FrameError> {
        Ok(Cell::Integer(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Cell, FrameError> {
        Ok(Cell::Integer(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Cell, FrameError> {
        Ok(Cell::Integer(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Cell, FrameError> {
        i64::try_from(v).map(Cell::Integer).map_err(|_| FrameError(format!("{v} does not fit a table integer")))
    }
    fn serialize_f32(self, v: f32) -> Result<Cell, FrameError> {
        Ok(Cell::Float(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Cell, FrameError> {
        Ok(Cell::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Cell, FrameError> {
        Ok(Cell::Text(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Cell, FrameError> {
        Ok(Cell::Text(v.to_owned()))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Cell, FrameError> {
        unsupported("bytes")
    }
    fn serialize_none(self) -> Result<Cell, FrameError> {
        Ok(Cell::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Cell, FrameError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Cell, FrameError> {
        Ok(Cell::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Cell, FrameError> {
        Ok(Cell::Null)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<Cell, FrameError> {
        Ok(Cell::Text(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<Cell, FrameError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Cell, FrameError> {
        unsupported("an enum with data")
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, FrameError> {
        unsupported("a list")
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, FrameError> {
        unsupported("a tuple")
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, FrameError> {
        unsupported("a tuple")
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, FrameError> {
        unsupported("an enum with data")
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, FrameError> {
        unsupported("a map")
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, FrameError> {
        unsupported("a nested struct (flatten it into the row)")
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, FrameError> {
        unsupported("an enum with data")
    }
}

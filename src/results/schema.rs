//! What a table is: its [`Schema`] (columns with their types and roles), its rows' typed cells ([`Row`], [`Cell`]), and
//! the [`tables!`] declaration that makes, from one definition per table, its row struct, its schema and its place
//! in the registry ([`super::SCHEMAS`], [`super::Tables`], [`super::TableRows`]).
use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::Record;
use crate::stage::Stage;
use crate::vocab::{DatasetId, ErfInput, ErfStatistic, Layer, Regime, RfMeasure, SfStatistic, Vocab};

/// The type of a column's cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
    Float,
}

/// What a column is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Names the observation (dataset, regime, epoch, sigma, ...): rows of two tables are matched on these.
    Key,
    /// A measured number: compared by `verify`, averaged over seeds by the figures.
    Value,
    /// Bookkeeping: `profile`, `seed`, `source` and the original's extra record columns.
    Note,
}

/// One column of a table.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub role: Role,
    /// Whether a cell may be empty (an `Option` field).
    pub optional: bool,
    /// The vocabulary of a text column's cells, so that filters on it can be checked when they are loaded.
    pub vocab: Option<Vocab>,
}

impl Column {
    /// The column a field of type `T` makes.
    pub(crate) const fn of<T: CellType>(name: &'static str, role: Role) -> Column {
        Column { name, kind: T::KIND, role, optional: T::OPTIONAL, vocab: T::VOCAB }
    }
}

/// A table's name (its file stem), its columns in file order, and how it is made and read.
#[derive(Debug)]
pub struct Schema {
    pub name: &'static str,
    pub columns: &'static [Column],
    /// The stage that writes its rows: a run's stage into the run's `tables/`, or the gathering.
    pub made_by: Stage,
    /// Whether the original's numbers include it (`import-reference` converts its reference CSV).
    pub reference: bool,
    /// Whether readers keep one row per observation and seed, the most trusted source ([`super::reduce`]): the
    /// original's tables record some numbers several times (printed, derived, digitised). False for the tables whose
    /// rows are the elements of one picture (a radial profile, a map, a kernel), which never hold alternatives.
    pub reduced: bool,
}

impl Schema {
    pub(crate) fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The position of column `name`, or an error naming the table's columns.
    pub fn position(&self, name: &str) -> Result<usize> {
        self.columns.iter().position(|c| c.name == name).with_context(|| {
            let names: Vec<&str> = self.columns.iter().map(|c| c.name).collect();
            format!("table {} has no column '{name}' (columns: {})", self.name, names.join(", "))
        })
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.role == Role::Key)
    }

    /// The positions of the key columns.
    pub(crate) fn key_positions(&self) -> Vec<usize> {
        (0..self.columns.len()).filter(|i| self.columns[*i].role == Role::Key).collect()
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.role == Role::Value)
    }

    pub fn csv_path(&self, results_dir: &Path) -> PathBuf {
        results_dir.join(format!("{}.csv", self.name))
    }

    pub(crate) fn parquet_path(&self, results_dir: &Path) -> PathBuf {
        results_dir.join(format!("{}.parquet", self.name))
    }

    /// Check that `text` is a possible cell of `column`: the column exists and, where it has a vocabulary, `text`
    /// names something of it. What claims and tolerances filter on is checked with this when they are loaded.
    pub(crate) fn check_cell(&self, column: &str, text: &str) -> Result<()> {
        let Some(c) = self.column(column) else {
            let names: Vec<&str> = self.columns.iter().map(|c| c.name).collect();
            bail!("table {} has no column '{column}' (columns: {})", self.name, names.join(", "));
        };
        if let Some(vocab) = c.vocab {
            vocab.check(text).with_context(|| format!("in column '{column}' of table {}", self.name))?;
        }
        Ok(())
    }
}

/// One cell of a row, typed as its column.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell<'a> {
    Empty,
    Text(Cow<'a, str>),
    Integer(i64),
    Float(f64),
}

impl Cell<'_> {
    /// The cell as a number (an integer or a float), `None` for text and empty cells.
    pub(crate) fn number(&self) -> Option<f64> {
        match self {
            Cell::Integer(i) => Some(*i as f64),
            Cell::Float(x) => Some(*x),
            Cell::Text(_) | Cell::Empty => None,
        }
    }
}

/// A cell as a reader expects it: `8` for a whole float, empty for an empty cell.
impl fmt::Display for Cell<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Empty => Ok(()),
            Cell::Text(text) => f.write_str(text),
            Cell::Integer(i) => write!(f, "{i}"),
            Cell::Float(x) if x.fract() == 0.0 && x.abs() < 1e15 => write!(f, "{}", *x as i64),
            Cell::Float(x) => write!(f, "{x}"),
        }
    }
}

/// A type a table's field may have, and the cells and column it makes.
pub trait CellType {
    const KIND: Kind;
    const OPTIONAL: bool = false;
    const VOCAB: Option<Vocab> = None;
    fn cell(&self) -> Cell<'_>;
}

impl CellType for f64 {
    const KIND: Kind = Kind::Float;
    fn cell(&self) -> Cell<'_> {
        Cell::Float(*self)
    }
}

impl CellType for String {
    const KIND: Kind = Kind::Text;
    fn cell(&self) -> Cell<'_> {
        Cell::Text(Cow::Borrowed(self))
    }
}

macro_rules! integer_cells {
    ($($ty:ty),*) => {$(
        impl CellType for $ty {
            const KIND: Kind = Kind::Integer;
            fn cell(&self) -> Cell<'_> {
                Cell::Integer(i64::from(*self))
            }
        }
    )*};
}
integer_cells!(u8, u32, i64);

impl CellType for u64 {
    const KIND: Kind = Kind::Integer;
    fn cell(&self) -> Cell<'_> {
        // Seeds and counts: far below i64's range (a value above it would not fit the CSV column either).
        Cell::Integer(*self as i64)
    }
}

impl<T: CellType> CellType for Option<T> {
    const KIND: Kind = T::KIND;
    const OPTIONAL: bool = true;
    const VOCAB: Option<Vocab> = T::VOCAB;
    fn cell(&self) -> Cell<'_> {
        self.as_ref().map_or(Cell::Empty, T::cell)
    }
}

macro_rules! vocabulary_cells {
    ($($ty:ty => $vocab:ident),*) => {$(
        impl CellType for $ty {
            const KIND: Kind = Kind::Text;
            const VOCAB: Option<Vocab> = Some(Vocab::$vocab);
            fn cell(&self) -> Cell<'_> {
                Cell::Text(Cow::Borrowed(self.name()))
            }
        }
    )*};
}
vocabulary_cells!(DatasetId => Dataset, Regime => Regime, Layer => Layer, RfMeasure => RfMeasure,
    ErfInput => ErfInput, ErfStatistic => ErfStatistic);

impl CellType for SfStatistic {
    const KIND: Kind = Kind::Text;
    const VOCAB: Option<Vocab> = Some(Vocab::SfStatistic);
    fn cell(&self) -> Cell<'_> {
        Cell::Text(Cow::Owned(self.name()))
    }
}

/// A row of a results table, read cell by cell in the order of its schema's columns.
pub trait Row {
    fn schema(&self) -> &'static Schema;
    /// The cell of column `column` (a position in [`Row::schema`]'s columns), empty past the last.
    fn cell(&self, column: usize) -> Cell<'_>;
}

/// A record (column -> cell, as `verify` reads every table alike) read as a row of its table.
#[derive(Clone, Copy, Debug)]
pub struct RecordRow<'a> {
    pub schema: &'static Schema,
    pub record: &'a Record,
}

impl Row for RecordRow<'_> {
    fn schema(&self) -> &'static Schema {
        self.schema
    }

    fn cell(&self, column: usize) -> Cell<'_> {
        let Some(column) = self.schema.columns.get(column) else { return Cell::Empty };
        match (self.record.get(column.name), column.kind) {
            (None | Some(Value::Null), _) => Cell::Empty,
            (Some(Value::String(text)), _) => Cell::Text(Cow::Borrowed(text)),
            (Some(Value::Number(n)), Kind::Integer) if n.is_i64() => Cell::Integer(n.as_i64().unwrap_or_default()),
            (Some(Value::Number(n)), Kind::Integer | Kind::Float) => Cell::Float(n.as_f64().unwrap_or(f64::NAN)),
            (Some(other), _) => Cell::Text(Cow::Owned(other.to_string())),
        }
    }
}

/// A results table: a row struct whose serde field names are exactly its schema's columns.
pub trait Table: Row + Serialize + DeserializeOwned {
    const SCHEMA: Schema;
}

/// Declares the results tables, once each: from a table's name, its row type, the stage that makes it, whether the
/// original has it and whether readers reduce it, and its fields (each with its column's role; `..RunKey` first for
/// the tables of one run, whose key is flattened in), it makes the row
/// struct (serde field names are the columns), its [`Schema`] (kinds, optionality and vocabularies from the fields'
/// types), its typed cells ([`Row`]), and the registry of every table: `SCHEMAS`, `Tables` (one `Vec` of rows per
/// table) and `TableRows` (one table's rows, typed).
macro_rules! tables {
    ($(
        $(#[doc = $doc:literal])*
        $table:ident: $row:ident [made_by: $stage:ident, reference: $reference:literal, reduced: $reduced:literal] {
            $(..$run:ident,)?
            $($(#[doc = $fdoc:literal])* $role:ident $field:ident: $ty:ty,)*
        }
    )*) => {
        $(
            $(#[doc = $doc])*
            #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
            pub struct $row {
                $(
                    #[serde(flatten)]
                    pub run: $run,
                )?
                $($(#[doc = $fdoc])* pub $field: $ty,)*
            }

            impl $crate::results::Table for $row {
                const SCHEMA: $crate::results::Schema = $crate::results::Schema {
                    name: stringify!($table),
                    columns: &[
                        $($run::COLUMNS[0], $run::COLUMNS[1], $run::COLUMNS[2], $run::COLUMNS[3],)?
                        $($crate::results::Column::of::<$ty>(stringify!($field), $crate::results::Role::$role),)*
                    ],
                    made_by: $crate::stage::Stage::$stage,
                    reference: $reference,
                    reduced: $reduced,
                };
            }

            impl $crate::results::Row for $row {
                fn schema(&self) -> &'static $crate::results::Schema {
                    &<$row as $crate::results::Table>::SCHEMA
                }

                #[allow(unused_assignments, unused_mut)]
                fn cell(&self, column: usize) -> $crate::results::Cell<'_> {
                    let mut at = 0;
                    $(
                        if column < $run::COLUMNS.len() {
                            return self.run.cell(column);
                        }
                        at = $run::COLUMNS.len();
                    )?
                    $(
                        if column == at {
                            return $crate::results::CellType::cell(&self.$field);
                        }
                        at += 1;
                    )*
                    $crate::results::Cell::Empty
                }
            }
        )*

        /// Every table, in the order reports list them.
        pub const SCHEMAS: [&$crate::results::Schema; [$(stringify!($table)),*].len()] =
            [$(&<$row as $crate::results::Table>::SCHEMA),*];

        /// Rows of every table: a run's, a profile's (`results/`) or the original's (`expected/paper/`).
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct Tables {
            $(pub $table: Vec<$row>,)*
        }

        /// The rows of one table, typed.
        #[derive(Clone, Copy, Debug)]
        pub enum TableRows<'a> {
            $($row(&'a [$row]),)*
        }

        impl Tables {
            /// Read the tables that `wanted` selects from `dir`, those present, every row of each.
            pub fn read(dir: &std::path::Path, wanted: impl Fn(&$crate::results::Schema) -> bool) -> anyhow::Result<Tables> {
                Tables::read_with(dir, wanted, &[])
            }

            /// [`Tables::read`], with `defaults` filling columns a file lacks (the original's CSVs have no `profile`
            /// or `seed`).
            pub(crate) fn read_with(
                dir: &std::path::Path,
                wanted: impl Fn(&$crate::results::Schema) -> bool,
                defaults: &[(&str, serde_json::Value)],
            ) -> anyhow::Result<Tables> {
                Ok(Tables {$(
                    $table: {
                        let schema = &<$row as $crate::results::Table>::SCHEMA;
                        let path = schema.csv_path(dir);
                        match wanted(schema) && path.exists() {
                            true => {
                                let records = $crate::results::read_records(&path, schema, defaults)?;
                                $crate::results::io::records_into_rows::<$row>(&path, records)?
                            }
                            false => Vec::new(),
                        }
                    },
                )*})
            }

            /// Write the tables that `which` selects into `dir` (each, even when it has no rows); returns the files
            /// written.
            pub(crate) fn write(
                &self,
                dir: &std::path::Path,
                which: impl Fn(&$crate::results::Schema) -> bool,
            ) -> anyhow::Result<Vec<std::path::PathBuf>> {
                let mut written = Vec::new();
                $(
                    let schema = &<$row as $crate::results::Table>::SCHEMA;
                    if which(schema) {
                        $crate::results::write_table(dir, &self.$table)?;
                        written.extend([schema.csv_path(dir), schema.parquet_path(dir)]);
                    }
                )*
                Ok(written)
            }

            /// Append `other`'s rows to these, table by table.
            pub(crate) fn extend(&mut self, other: Tables) {
                $(self.$table.extend(other.$table);)*
            }

            /// Every table its schema says is reduced, reduced to one row per observation and seed
            /// ([`reduce`]).
            pub fn reduced(self) -> Tables {
                Tables {$(
                    $table: match <$row as $crate::results::Table>::SCHEMA.reduced {
                        true => $crate::results::reduce(self.$table),
                        false => self.$table,
                    },
                )*}
            }

            /// The rows of the table `schema` describes.
            pub fn rows(&self, schema: &$crate::results::Schema) -> Option<TableRows<'_>> {
                $(
                    if schema.name == stringify!($table) {
                        return Some(TableRows::$row(&self.$table));
                    }
                )*
                None
            }
        }

        impl<'a> TableRows<'a> {
            /// How many rows it has.
            pub fn len(self) -> usize {
                match self {
                    $(TableRows::$row(rows) => rows.len(),)*
                }
            }

            /// Whether it has no row.
            pub fn is_empty(self) -> bool {
                self.len() == 0
            }

            /// Its rows, read through their cells.
            pub fn rows(self) -> Vec<&'a dyn $crate::results::Row> {
                match self {
                    $(TableRows::$row(rows) => rows.iter().map(|r| r as &dyn $crate::results::Row).collect(),)*
                }
            }
        }
    };
}
pub(crate) use tables;

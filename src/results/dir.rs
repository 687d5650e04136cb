//! The one reader of a directory of results tables: a run directory (`runs/<profile>/`, its tables in `results/`,
//! each variant's in `results/variants/<name>/`) or a directory of tables (`expected/<profile>/`). It gives the typed
//! tables, the records `verify` compares, and the profile that made them; figures, claims, verify, the report and
//! `status` read through it.
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::{read_records, results_dir, Record, Schema, Tables, SCHEMAS};
use crate::protocol::{Profile, PROFILE_COPY};

/// A directory of results tables.
#[derive(Clone, Debug)]
pub struct ResultsDir {
    /// The directory given: a run directory, or the directory of tables itself.
    pub dir: PathBuf,
    /// Where its tables are: `dir/results/` for a run, `dir` for a directory of tables.
    pub tables_dir: PathBuf,
}

/// The profile that made a directory's tables.
#[derive(Clone, Debug)]
pub struct RunProfile {
    /// Its name, as the tables' `profile` column writes it.
    pub name: String,
    /// Its protocol, when known: the copy beside the tables, or `paper/protocol/<name>.toml`.
    pub protocol: Option<Profile>,
}

impl ResultsDir {
    pub fn new(dir: &Path) -> ResultsDir {
        let results = results_dir(dir);
        let tables_dir = if results.is_dir() { results } else { dir.to_path_buf() };
        ResultsDir { dir: dir.to_path_buf(), tables_dir }
    }

    /// Whether it holds the table of `schema`.
    pub(crate) fn has(&self, schema: &Schema) -> bool {
        schema.csv_path(&self.tables_dir).exists()
    }

    /// The tables that `wanted` selects, those present, every row of each.
    pub fn tables(&self, wanted: impl Fn(&Schema) -> bool) -> Result<Tables> {
        Tables::read(&self.tables_dir, wanted)
    }

    /// The rows of the table of `schema` as records (column -> cell), `None` when it has no such table: what
    /// `verify` compares, table by table alike.
    pub(crate) fn records(&self, schema: &Schema) -> Result<Option<Vec<Record>>> {
        match self.has(schema) {
            true => read_records(&schema.csv_path(&self.tables_dir), schema, &[]).map(Some),
            false => Ok(None),
        }
    }

    /// The tables of each variant of the profile (`results/variants/<name>/`), by name.
    pub(crate) fn variants(&self) -> Vec<(String, ResultsDir)> {
        let dir = self.tables_dir.join("variants");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .collect();
        names.sort();
        names.into_iter().map(|name| (name.clone(), ResultsDir::new(&dir.join(name)))).collect()
    }

    /// The profile that made the tables: the copy of its protocol file that `reproduce` keeps beside them
    /// ([`PROFILE_COPY`]), else the profile that the `profile` column of its first table with rows names (with its
    /// protocol from `paper/protocol/`, when there is one of that name).
    pub fn profile(&self) -> Result<RunProfile> {
        let copy = self.tables_dir.join(PROFILE_COPY);
        if copy.exists() {
            match Profile::from_file(&copy) {
                Ok(profile) => return Ok(RunProfile { name: profile.name.clone(), protocol: Some(profile) }),
                Err(err) => tracing::warn!("{err:#}; taking the profile the tables name instead"),
            }
        }
        let name = self.named_profile()?;
        Ok(RunProfile { protocol: Profile::load(&name).ok(), name })
    }

    /// The `profile` column of the first table with rows.
    fn named_profile(&self) -> Result<String> {
        for schema in SCHEMAS {
            let first = self.records(schema)?.and_then(|records| records.into_iter().next());
            if let Some(profile) = first.as_ref().and_then(|r| r.get("profile")).and_then(|p| p.as_str()) {
                return Ok(profile.to_owned());
            }
        }
        bail!(
            "{} holds no results table with rows (looked for {}/<table>.csv)",
            self.dir.display(),
            self.tables_dir.display()
        )
    }
}

//! Reading an onboarding CSV as real spreadsheets write it: a UTF-8 byte-order mark, `,` or `;`
//! (Excel in many European locales) as the delimiter, quoted fields with delimiters and line
//! breaks, CRLF, trailing empty columns, header names in any case. Rows stream one at a time
//! with the line they start on, each turned into the SCIM user document the import writes (and
//! the groups it names). Text that is not UTF-8 is refused with the line it is on. Line breaks
//! are read as LF wherever they are, inside quoted fields too.

use std::io::{BufRead, BufReader, Read};

use serde_json::{Map, Value, json};

use crate::scim::{CORE_USER_URN, TENANT_USER_URN};

/// A column the import knows, by its documented header name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    UserName,
    Email,
    GivenName,
    FamilyName,
    DisplayName,
    ExternalId,
    UserType,
    Roles,
    Groups,
    Phone,
    Timezone,
    Skills,
    MaxChats,
    MaxEmails,
    VoiceCalls,
    CrmAccess,
}

/// The documented header names, in the README's order.
pub const COLUMNS: [(&str, Column); 16] = [
    ("userName", Column::UserName),
    ("email", Column::Email),
    ("givenName", Column::GivenName),
    ("familyName", Column::FamilyName),
    ("displayName", Column::DisplayName),
    ("externalId", Column::ExternalId),
    ("userType", Column::UserType),
    ("roles", Column::Roles),
    ("groups", Column::Groups),
    ("phone", Column::Phone),
    ("timezone", Column::Timezone),
    ("skills", Column::Skills),
    ("maxChats", Column::MaxChats),
    ("maxEmails", Column::MaxEmails),
    ("voiceCalls", Column::VoiceCalls),
    ("crmAccess", Column::CrmAccess),
];

/// Why a file cannot be read at all (a row that cannot be used is a `RowError` instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty: it needs a header row naming at least userName")]
    Empty,
    #[error("line {line} is not UTF-8 text: save the file as \"CSV UTF-8\"")]
    NotUtf8 { line: u64 },
    /// PostgreSQL can store no NUL, and SCIM bodies may not hold one either (README, "Bad input").
    #[error("line {line} holds a NUL character (U+0000), which no value may hold")]
    Nul { line: u64 },
    #[error("the header row has no userName column (columns: {known})")]
    NoUserName { known: String },
    #[error("the header row names '{0}' twice")]
    DuplicateColumn(String),
    #[error("line {line}: {detail}")]
    Unreadable { line: u64, detail: String },
}

/// A row of the file: the line it starts on, and its values by column (empty ones left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRow {
    pub line: u64,
    pub values: Vec<(Column, String)>,
}

impl CsvRow {
    pub fn get(&self, column: Column) -> Option<&str> {
        self.values
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, v)| v.as_str())
    }

    pub fn user_name(&self) -> Option<&str> {
        self.get(Column::UserName)
    }

    /// The groups the row names (`;`-separated; a file delimited by `;` quotes the field).
    pub fn groups(&self) -> Vec<String> {
        split_list(self.get(Column::Groups))
    }

    /// The SCIM user document the row stands for, or why a value cannot be used.
    pub fn to_scim(&self) -> Result<Value, String> {
        let mut user = Map::new();
        user.insert("schemas".into(), json!([CORE_USER_URN, TENANT_USER_URN]));
        let mut name = Map::new();
        let mut extension = Map::new();
        for (column, value) in &self.values {
            let text = Value::String(value.clone());
            match column {
                Column::UserName => {
                    user.insert("userName".into(), text);
                }
                Column::Email => {
                    user.insert(
                        "emails".into(),
                        json!([{"value": value, "type": "work", "primary": true}]),
                    );
                }
                Column::GivenName => {
                    name.insert("givenName".into(), text);
                }
                Column::FamilyName => {
                    name.insert("familyName".into(), text);
                }
                Column::DisplayName => {
                    user.insert("displayName".into(), text);
                }
                Column::ExternalId => {
                    user.insert("externalId".into(), text);
                }
                Column::UserType => {
                    user.insert("userType".into(), text);
                }
                Column::Roles => {
                    let roles: Vec<Value> = split_list(Some(value))
                        .into_iter()
                        .map(|r| json!({"value": r}))
                        .collect();
                    user.insert("roles".into(), Value::Array(roles));
                }
                Column::Groups => {}
                Column::Phone => {
                    user.insert(
                        "phoneNumbers".into(),
                        json!([{"value": value, "type": "work"}]),
                    );
                }
                Column::Timezone => {
                    user.insert("timezone".into(), text);
                }
                Column::Skills => {
                    extension.insert("skills".into(), Value::from(split_list(Some(value))));
                }
                Column::MaxChats => {
                    extension.insert("maxChats".into(), integer("maxChats", value)?);
                }
                Column::MaxEmails => {
                    extension.insert("maxEmails".into(), integer("maxEmails", value)?);
                }
                Column::VoiceCalls => {
                    extension.insert("voiceCalls".into(), boolean("voiceCalls", value)?);
                }
                Column::CrmAccess => {
                    extension.insert("crmAccess".into(), boolean("crmAccess", value)?);
                }
            }
        }
        if !name.is_empty() {
            user.insert("name".into(), Value::Object(name));
        }
        if !extension.is_empty() {
            user.insert(TENANT_USER_URN.into(), Value::Object(extension));
        }
        Ok(Value::Object(user))
    }
}

fn split_list(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn integer(column: &str, value: &str) -> Result<Value, String> {
    value
        .trim()
        .parse::<i64>()
        .map(Value::from)
        .map_err(|_| format!("{column} must be a whole number, not '{value}'"))
}

fn boolean(column: &str, value: &str) -> Result<Value, String> {
    match value.trim().to_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Ok(Value::Bool(true)),
        "false" | "no" | "n" | "0" => Ok(Value::Bool(false)),
        _ => Err(format!("{column} must be true or false, not '{value}'")),
    }
}

/// The delimiter of a header line: `;` when it has more of them than commas outside quotes.
fn delimiter_of(header: &[u8]) -> u8 {
    let (mut commas, mut semicolons, mut quoted) = (0, 0, false);
    for byte in header {
        match byte {
            b'"' => quoted = !quoted,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas { b';' } else { b',' }
}

/// A reader that ends every line with `\n` alone: CRLF and a lone CR become LF, and a last line
/// without a line break gets one. The CSV reader then counts lines the same way for every file.
/// Each byte read gives at most one byte out, so nothing is ever held back but a CR at the end of
/// a read (to see whether a LF follows).
pub struct LineEnds<R> {
    inner: R,
    /// A CR ended the last read: a line end, whose LF (if it comes next) is not another one.
    pending_cr: bool,
    /// The line end of a CR was given out; a LF right after it belongs to it.
    skip_lf: bool,
    last: Option<u8>,
    done: bool,
}

impl<R: Read> LineEnds<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            pending_cr: false,
            skip_lf: false,
            last: None,
            done: false,
        }
    }

    fn emit(&mut self, byte: u8, out: &mut [u8], written: &mut usize) {
        if let Some(slot) = out.get_mut(*written) {
            *slot = byte;
            *written += 1;
            self.last = Some(byte);
        }
    }
}

impl<R: Read> Read for LineEnds<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let mut written = 0;
        // Zero bytes out means the end: read on until something comes out or the input ends.
        while written == 0 && !self.done && !out.is_empty() {
            if self.pending_cr {
                self.pending_cr = false;
                self.skip_lf = true;
                self.emit(b'\n', out, &mut written);
                break;
            }
            let mut chunk = vec![0; out.len()];
            let n = self.inner.read(&mut chunk)?;
            if n == 0 {
                self.done = true;
                if self.last.is_some_and(|b| b != b'\n') {
                    self.emit(b'\n', out, &mut written);
                }
                break;
            }
            let mut bytes = chunk.into_iter().take(n).peekable();
            while let Some(byte) = bytes.next() {
                if std::mem::take(&mut self.skip_lf) && byte == b'\n' {
                    continue;
                }
                if byte != b'\r' {
                    self.emit(byte, out, &mut written);
                    continue;
                }
                match bytes.peek() {
                    // CRLF: the LF that follows is the line end.
                    Some(b'\n') => {}
                    Some(_) => self.emit(b'\n', out, &mut written),
                    None => self.pending_cr = true,
                }
            }
        }
        Ok(written)
    }
}

/// The rows of an onboarding CSV, read as they are asked for (memory stays flat in the file's
/// size).
pub struct CsvRows<R: Read> {
    records: csv::Reader<LineEnds<BufReader<R>>>,
    columns: Vec<Option<Column>>,
    record: csv::ByteRecord,
}

impl<R: Read> std::fmt::Debug for CsvRows<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvRows")
            .field("columns", &self.columns)
            .finish()
    }
}

impl<R: Read> CsvRows<R> {
    /// Reads the header row; unknown columns are passed over (a spreadsheet's extra columns,
    /// trailing empty ones).
    pub fn open(source: R) -> Result<Self, FileError> {
        let mut input = BufReader::new(source);
        let start = input
            .fill_buf()
            .map_err(|e| FileError::Unreadable {
                line: 1,
                detail: e.to_string(),
            })?
            .to_vec();
        if start.starts_with(b"\xEF\xBB\xBF") {
            input.consume(3);
        }
        let header_line: Vec<u8> = input
            .buffer()
            .iter()
            .copied()
            .take_while(|b| *b != b'\n')
            .collect();
        let mut records = csv::ReaderBuilder::new()
            .delimiter(delimiter_of(&header_line))
            .flexible(true)
            .has_headers(false)
            .from_reader(LineEnds::new(input));
        let mut header = csv::ByteRecord::new();
        let read = records
            .read_byte_record(&mut header)
            .map_err(|e| FileError::Unreadable {
                line: 1,
                detail: e.to_string(),
            })?;
        if !read {
            return Err(FileError::Empty);
        }
        let mut columns = Vec::with_capacity(header.len());
        for field in header.iter() {
            let name = std::str::from_utf8(field)
                .map_err(|_| FileError::NotUtf8 { line: 1 })?
                .trim();
            let column = COLUMNS
                .iter()
                .find(|(known, _)| known.eq_ignore_ascii_case(name))
                .map(|(_, column)| *column);
            if column.is_some() && columns.contains(&column) {
                return Err(FileError::DuplicateColumn(name.to_string()));
            }
            columns.push(column);
        }
        if !columns.contains(&Some(Column::UserName)) {
            return Err(FileError::NoUserName {
                known: COLUMNS.map(|(name, _)| name).join(", "),
            });
        }
        Ok(Self {
            records,
            columns,
            record: csv::ByteRecord::new(),
        })
    }

    /// The next row that is not blank, or the end of the file.
    pub fn next_row(&mut self) -> Result<Option<CsvRow>, FileError> {
        loop {
            let read = self
                .records
                .read_byte_record(&mut self.record)
                .map_err(|e| FileError::Unreadable {
                    line: e.position().map_or(0, |p| p.line()),
                    detail: e.to_string(),
                })?;
            if !read {
                return Ok(None);
            }
            // Every record ends with `\n` (see `LineEnds`), so the reader is now at the start of
            // the line after it; the record starts one line before that, and as many more as
            // its quoted fields hold line breaks. (The record's own position would count the
            // blank lines before it as its own.)
            let breaks = self
                .record
                .iter()
                .map(|field| field.iter().filter(|b| **b == b'\n').count())
                .sum::<usize>();
            let line = self
                .records
                .position()
                .line()
                .saturating_sub(1 + u64::try_from(breaks).unwrap_or(0));
            let mut values = Vec::new();
            for (index, field) in self.record.iter().enumerate() {
                let Some(Some(column)) = self.columns.get(index) else {
                    continue;
                };
                let text = std::str::from_utf8(field).map_err(|_| FileError::NotUtf8 { line })?;
                if text.contains('\0') {
                    return Err(FileError::Nul { line });
                }
                let text = text.trim();
                if !text.is_empty() {
                    values.push((*column, text.to_string()));
                }
            }
            if !values.is_empty() {
                return Ok(Some(CsvRow { line, values }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn rows(text: &[u8]) -> Vec<CsvRow> {
        let mut reader = CsvRows::open(text).unwrap();
        let mut out = Vec::new();
        while let Some(row) = reader.next_row().unwrap() {
            out.push(row);
        }
        out
    }

    #[test]
    fn what_spreadsheets_write_is_read() {
        // Excel in a European locale: a BOM, `;`, CRLF, a quoted field with `;` and a line
        // break, trailing empty columns, header names in other cases, a blank line.
        let file = "\u{feff}USERNAME;Email;GivenName;familyname;groups;;\r\n\
                    ada@x.example;ada@x.example;Ada;\"Love;lace\";\"Leads;Night shift\";;\r\n\
                    \r\n\
                    bob@x.example;;Bob;\"Mar\r\nley\";;;\r\n";
        let got = rows(file.as_bytes());
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].line, 2);
        assert_eq!(got[0].user_name(), Some("ada@x.example"));
        assert_eq!(got[0].get(Column::FamilyName), Some("Love;lace"));
        assert_eq!(got[0].groups(), vec!["Leads", "Night shift"]);
        assert_eq!(got[1].line, 4);
        // A line break inside a field is kept, as LF.
        assert_eq!(got[1].get(Column::FamilyName), Some("Mar\nley"));
        assert_eq!(got[1].get(Column::Email), None);
        // Commas, quotes with commas, LF only.
        let got = rows(b"userName,displayName\nada,\"Lovelace, Ada\"\n");
        assert_eq!(got[0].get(Column::DisplayName), Some("Lovelace, Ada"));
    }

    #[test]
    fn line_ends_become_lf_whatever_the_reads_cut() {
        for text in [&b"a\r\nb\rc\nd"[..], b"a\r\n", b"\r\r\n", b"x"] {
            let expected: Vec<u8> = {
                let mut s = String::from_utf8(text.to_vec())
                    .unwrap()
                    .replace("\r\n", "\n")
                    .replace('\r', "\n");
                if !s.ends_with('\n') {
                    s.push('\n');
                }
                s.into_bytes()
            };
            // Reads of one byte cut every CRLF in two.
            for size in [1, 2, 3, 64] {
                let mut reader = LineEnds::new(text);
                let mut got = Vec::new();
                let mut buffer = vec![0; size];
                loop {
                    let n = reader.read(&mut buffer).unwrap();
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buffer[..n]);
                }
                assert_eq!(got, expected, "{text:?} read {size} at a time");
            }
        }
    }

    #[test]
    fn text_that_is_not_utf8_is_refused_with_its_line() {
        let mut reader =
            CsvRows::open(&b"userName,displayName\nada,Ada\nbob,Bj\xF6rn\n"[..]).unwrap();
        assert!(reader.next_row().unwrap().is_some());
        assert_eq!(reader.next_row(), Err(FileError::NotUtf8 { line: 3 }));
    }

    #[test]
    fn a_nul_in_a_value_is_refused_with_its_line() {
        let mut reader =
            CsvRows::open(&b"userName,givenName\nada,Ada\n\"bob\",\"B\x00b\"\n"[..]).unwrap();
        assert!(reader.next_row().unwrap().is_some());
        assert_eq!(reader.next_row(), Err(FileError::Nul { line: 3 }));
    }

    #[test]
    fn a_header_without_user_name_or_with_a_column_twice_is_refused() {
        assert!(matches!(
            CsvRows::open(&b"email,givenName\nx@y,X\n"[..]),
            Err(FileError::NoUserName { .. })
        ));
        assert!(matches!(
            CsvRows::open(&b"userName,UserName\nx,y\n"[..]),
            Err(FileError::DuplicateColumn(_))
        ));
        assert!(matches!(CsvRows::open(&b""[..]), Err(FileError::Empty)));
    }

    #[test]
    fn a_row_becomes_the_scim_user_it_stands_for() {
        let row = &rows(
            b"userName,email,givenName,roles,skills,maxChats,voiceCalls,crmAccess\n\
              ada,ada@x.example,Ada,Agent;Lead,billing;returns,4,yes,0\n",
        )[0];
        let user = row.to_scim().unwrap();
        assert_eq!(user["userName"], "ada");
        assert_eq!(user["emails"][0]["value"], "ada@x.example");
        assert_eq!(user["name"]["givenName"], "Ada");
        assert_eq!(
            user["roles"],
            json!([{"value": "Agent"}, {"value": "Lead"}])
        );
        let extension = &user[TENANT_USER_URN];
        assert_eq!(extension["skills"], json!(["billing", "returns"]));
        assert_eq!(extension["maxChats"], 4);
        assert_eq!(extension["voiceCalls"], true);
        assert_eq!(extension["crmAccess"], false);
        let bad = &rows(b"userName,maxChats\nada,lots\n")[0];
        assert_eq!(
            bad.to_scim(),
            Err("maxChats must be a whole number, not 'lots'".to_string())
        );
    }
}

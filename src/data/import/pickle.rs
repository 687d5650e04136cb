//! A reader for the one kind of pickle the original's datasets use: a sequence of encoded images.
//!
//! The original (`src/datasets.py` of `cerysojj/blurry-to-clear-training`) loads `<split>.pickle` with
//! `pickle.load` and passes each element to `cv2.imdecode` (Toybox, IN-12) or `np.frombuffer` then `cv2.imdecode`
//! (FaceScrub, IN-100). So each element is the bytes of one JPEG or PNG file, held either as a Python `bytes` object
//! or as a numpy `uint8` array (what `cv2.imencode(...)[1]` returns, shape `(n,)` or `(n, 1)`).
//!
//! **Supported** (and tested): pickle protocols 2 to 5, written by Python 3 (or Python 2's `str` for bytes); the
//! top-level object a `list` or `tuple`, or a 1-D numpy object array; each element `bytes`, `bytearray`, or a
//! C-contiguous numpy `uint8`/`int8` array of any shape, pickled by numpy's `_reconstruct` path (protocols 2 to 4)
//! or its `_frombuffer` path (protocol 5, in-band buffers), under `numpy.core` or numpy 2's `numpy._core`.
//! **Not supported**, each with an error that names it: any other global (a pickled class, pandas objects,
//! `os.system`, ...), refused as soon as the pickle names it; out-of-band buffers (`NEXT_BUFFER`,
//! `READONLY_BUFFER`); elements of any other type; and pickles that multiply themselves through memo references (a
//! "billion laughs" bomb, or one image's bytes referenced a million times), which would allocate far more than the
//! file holds.
//!
//! Why not a crate: `serde-pickle` reads plain Python values but cannot represent the numpy reconstruction calls
//! (it can only replace unknown globals by `None`, losing the image bytes), so this module runs the small stack
//! machine needed for this subset. It never executes anything: globals are only names.
use std::collections::HashMap;
use std::io::{BufRead, Read};
use std::rc::Rc;

use anyhow::{anyhow, bail, Context, Result};

/// A value on the unpickler's stack.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Shared, so that the memo's copy of every pickled image costs no memory.
    Bytes(Rc<Vec<u8>>),
    Str(String),
    List(Vec<Value>),
    Tuple(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    /// A global by name (`module`, `name`); never resolved or executed.
    Global(String, String),
    /// `callable(*args)` of a supported global, with the `BUILD` state set on it later.
    Object {
        callable: (String, String),
        args: Vec<Value>,
        state: Option<Box<Value>>,
    },
    /// The stack marker of `MARK`.
    Mark,
}

/// The encoded images of a pickle file, in order.
pub(crate) fn read_encoded_images(path: &std::path::Path) -> Result<Vec<Vec<u8>>> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let file_bytes = file.metadata().with_context(|| format!("cannot read {}", path.display()))?.len();
    let value = unpickle(&mut std::io::BufReader::with_capacity(1 << 20, file), file_bytes)
        .with_context(|| format!("cannot read {} as a pickle of encoded images", path.display()))?;
    images_of(value, file_bytes)
        .with_context(|| format!("{} does not hold a sequence of encoded images", path.display()))
}

/// Bytes that unpacking `value` would allocate, counting every reference to a shared object again.
fn held_bytes(value: &Value) -> u64 {
    match value {
        Value::Bytes(bytes) => bytes.len() as u64,
        Value::Str(text) => text.len() as u64,
        Value::List(items) | Value::Tuple(items) => items.iter().map(held_bytes).sum(),
        Value::Dict(entries) => entries.iter().map(|(k, v)| held_bytes(k) + held_bytes(v)).sum(),
        Value::Object { args, state, .. } => {
            args.iter().map(held_bytes).sum::<u64>() + state.as_deref().map_or(0, held_bytes)
        }
        _ => 0,
    }
}

/// Values in `value`, counting nested ones: what copying it costs.
fn nodes(value: &Value) -> u64 {
    1 + match value {
        Value::List(items) | Value::Tuple(items) => items.iter().map(nodes).sum(),
        Value::Dict(entries) => entries.iter().map(|(k, v)| nodes(k) + nodes(v)).sum(),
        Value::Object { args, state, .. } => args.iter().map(nodes).sum::<u64>() + state.as_deref().map_or(0, nodes),
        _ => 0,
    }
}

/// Encoded images from the top-level object of a pickle of `file_bytes` bytes. Every image's bytes are in the file
/// once, so images that add up to more than the file are one object referenced many times: refused before copying.
fn images_of(value: Value, file_bytes: u64) -> Result<Vec<Vec<u8>>> {
    let held = held_bytes(&value);
    if held > file_bytes {
        bail!(
            "its elements add up to {held} bytes in a file of {file_bytes}: it repeats objects by memo reference, as a \
             pickle of distinct images never does; refusing to unpack it"
        );
    }
    let items = match value {
        Value::List(items) | Value::Tuple(items) => items,
        object @ Value::Object { .. } => match numpy_array(object)? {
            NumpyArray::Objects(items) => items,
            NumpyArray::Bytes(_) => bail!("the top-level object is a numpy byte array, not a sequence of images"),
        },
        other => bail!("the top-level object is {}, expected a list of encoded images", describe(&other)),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| element_bytes(item).with_context(|| format!("element {index}")))
        .collect()
}

/// The bytes themselves: free once the memo is gone, a copy otherwise.
fn unshare(bytes: Rc<Vec<u8>>) -> Vec<u8> {
    Rc::try_unwrap(bytes).unwrap_or_else(|shared| shared.as_ref().clone())
}

fn element_bytes(item: Value) -> Result<Vec<u8>> {
    match item {
        Value::Bytes(bytes) => Ok(unshare(bytes)),
        object @ Value::Object { .. } => match numpy_array(object)? {
            NumpyArray::Bytes(bytes) => Ok(bytes),
            NumpyArray::Objects(_) => bail!("is a numpy object array, expected the bytes of one image"),
        },
        other => bail!("is {}, expected bytes or a numpy uint8 array", describe(&other)),
    }
}

enum NumpyArray {
    Bytes(Vec<u8>),
    Objects(Vec<Value>),
}

fn is_numpy(module: &str, sub: &str) -> bool {
    module == format!("numpy.core.{sub}") || module == format!("numpy._core.{sub}")
}

/// Interpret a reconstructed numpy array: `_reconstruct(ndarray, (0,), b'b')` with the state
/// `(version, shape, dtype, fortran_order, data)`, or `_frombuffer(data, dtype, shape, order)`.
fn numpy_array(object: Value) -> Result<NumpyArray> {
    let Value::Object { callable: (module, name), args, state } = object else {
        unreachable!("called on objects only")
    };
    let (dtype, data) = if is_numpy(&module, "multiarray") && name == "_reconstruct" {
        let Some(state) = state else { bail!("a numpy array without its state (no BUILD)") };
        let Value::Tuple(fields) = *state else { bail!("a numpy array state that is not a tuple") };
        let [_, _, dtype, Value::Bool(fortran), data] = <[Value; 5]>::try_from(fields)
            .map_err(|f| anyhow!("a numpy array state of {} fields, expected 5", f.len()))?
        else {
            bail!("a numpy array state whose fortran flag is not a bool")
        };
        if fortran {
            bail!("a Fortran-ordered numpy array; save the images as C-ordered arrays or bytes");
        }
        (dtype, data)
    } else if is_numpy(&module, "numeric") && name == "_frombuffer" {
        let mut args = args.into_iter();
        let (Some(data), Some(dtype)) = (args.next(), args.next()) else {
            bail!("a numpy _frombuffer call without data")
        };
        (dtype, data)
    } else {
        bail!("the global {module}.{name} is not supported (only numpy arrays of encoded images are)");
    };
    match dtype_code(&dtype)?.as_str() {
        "u1" | "|u1" | "i1" | "|i1" | "B" | "b" => match data {
            Value::Bytes(bytes) => Ok(NumpyArray::Bytes(unshare(bytes))),
            other => bail!("a numpy uint8 array whose data is {}", describe(&other)),
        },
        "O" | "O8" | "|O" => match data {
            Value::List(items) => Ok(NumpyArray::Objects(items)),
            other => bail!("a numpy object array whose data is {}", describe(&other)),
        },
        code => bail!("a numpy array of dtype '{code}'; only uint8 (encoded images) and object arrays are supported"),
    }
}

/// The type code of `numpy.dtype(code, align, copy)`.
fn dtype_code(dtype: &Value) -> Result<String> {
    match dtype {
        Value::Object { callable: (module, name), args, .. } if module == "numpy" && name == "dtype" => {
            match args.first() {
                Some(Value::Str(code)) => Ok(code.clone()),
                Some(Value::Bytes(code)) => Ok(String::from_utf8_lossy(code).into_owned()),
                _ => bail!("a numpy dtype without a type code"),
            }
        }
        other => bail!("{} where a numpy dtype was expected", describe(other)),
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::None => "None".into(),
        Value::Bool(_) => "a bool".into(),
        Value::Int(_) => "an int".into(),
        Value::Float(_) => "a float".into(),
        Value::Bytes(_) => "bytes".into(),
        Value::Str(_) => "a str".into(),
        Value::List(_) => "a list".into(),
        Value::Tuple(_) => "a tuple".into(),
        Value::Dict(_) => "a dict".into(),
        Value::Global(m, n) => format!("the global {m}.{n}"),
        Value::Object { callable: (m, n), .. } => format!("an object made by {m}.{n}"),
        Value::Mark => "a stack mark".into(),
    }
}

/// Globals a pickle of encoded images may name: those [`callable_supported`] and numpy's array type (the first
/// argument of `_reconstruct`). Any other is refused where the pickle names it, before it is used.
fn global_allowed(module: &str, name: &str) -> bool {
    callable_supported(module, name) || (module == "numpy" && name == "ndarray")
}

/// Globals that may be called by `REDUCE` (anything else is refused).
fn callable_supported(module: &str, name: &str) -> bool {
    (is_numpy(module, "multiarray") && name == "_reconstruct")
        || (is_numpy(module, "numeric") && name == "_frombuffer")
        || (module == "numpy" && name == "dtype")
        || (module == "_codecs" && name == "encode")
        || ((module == "builtins" || module == "__builtin__") && name == "bytearray")
}

/// The stack machine for the opcodes this subset needs (`pickletools` names), for a pickle of `file_bytes` bytes.
///
/// The memo holds copies (`MEMOIZE`, `PUT`) and hands out copies (`GET`); a pickle of encoded images memoises
/// objects as it makes them and refers back only to small ones (numpy's array type and dtype, once per image), so
/// copying more values than the file has bytes means a pickle that multiplies itself ("billion laughs"): refused
/// before it can exhaust memory.
fn unpickle(reader: &mut impl BufRead, file_bytes: u64) -> Result<Value> {
    let mut stack: Vec<Value> = Vec::new();
    let mut memo: HashMap<u64, Value> = HashMap::new();
    let mut copies_left = file_bytes + 1024;
    loop {
        let opcode = read_u8(reader)?;
        match opcode {
            0x80 => {
                let protocol = read_u8(reader)?;
                if protocol > 5 {
                    bail!("pickle protocol {protocol} is newer than 5");
                }
            }
            0x95 => {
                read_exact::<8>(reader)?; // FRAME: a length hint only
            }
            b'.' => return stack.pop().ok_or_else(|| anyhow!("STOP with an empty stack")),
            b'(' => stack.push(Value::Mark),
            b'N' => stack.push(Value::None),
            0x88 => stack.push(Value::Bool(true)),
            0x89 => stack.push(Value::Bool(false)),
            b'K' => stack.push(Value::Int(i64::from(read_u8(reader)?))),
            b'M' => stack.push(Value::Int(i64::from(u16::from_le_bytes(read_exact(reader)?)))),
            b'J' => stack.push(Value::Int(i64::from(i32::from_le_bytes(read_exact(reader)?)))),
            0x8a => {
                let n = read_u8(reader)? as usize;
                let bytes = read_vec(reader, n)?;
                if n > 8 {
                    bail!("an integer of {n} bytes is too large");
                }
                let mut value: i64 = 0;
                for (i, b) in bytes.iter().enumerate() {
                    value |= i64::from(*b) << (8 * i);
                }
                if n > 0 && n < 8 && bytes[n - 1] & 0x80 != 0 {
                    value -= 1i64 << (8 * n);
                }
                stack.push(Value::Int(value));
            }
            b'G' => stack.push(Value::Float(f64::from_be_bytes(read_exact(reader)?))),
            b'C' => {
                let n = read_u8(reader)? as usize;
                stack.push(Value::Bytes(Rc::new(read_vec(reader, n)?)));
            }
            b'B' => {
                let n = u32::from_le_bytes(read_exact(reader)?) as usize;
                stack.push(Value::Bytes(Rc::new(read_vec(reader, n)?)));
            }
            0x8e | 0x96 => {
                let n = usize::try_from(u64::from_le_bytes(read_exact(reader)?))?;
                stack.push(Value::Bytes(Rc::new(read_vec(reader, n)?)));
            }
            // Python 2 `str` (SHORT_BINSTRING, BINSTRING): raw bytes.
            b'U' => {
                let n = read_u8(reader)? as usize;
                stack.push(Value::Bytes(Rc::new(read_vec(reader, n)?)));
            }
            b'T' => {
                let n = u32::from_le_bytes(read_exact(reader)?) as usize;
                stack.push(Value::Bytes(Rc::new(read_vec(reader, n)?)));
            }
            0x8c => {
                let n = read_u8(reader)? as usize;
                stack.push(Value::Str(utf8(read_vec(reader, n)?)?));
            }
            b'X' => {
                let n = u32::from_le_bytes(read_exact(reader)?) as usize;
                stack.push(Value::Str(utf8(read_vec(reader, n)?)?));
            }
            0x8d => {
                let n = usize::try_from(u64::from_le_bytes(read_exact(reader)?))?;
                stack.push(Value::Str(utf8(read_vec(reader, n)?)?));
            }
            b']' => stack.push(Value::List(Vec::new())),
            b')' => stack.push(Value::Tuple(Vec::new())),
            b'}' => stack.push(Value::Dict(Vec::new())),
            b'l' => {
                let items = pop_to_mark(&mut stack)?;
                stack.push(Value::List(items));
            }
            b't' => {
                let items = pop_to_mark(&mut stack)?;
                stack.push(Value::Tuple(items));
            }
            0x85..=0x87 => {
                let n = usize::from(opcode - 0x84);
                if stack.len() < n {
                    bail!("TUPLE{n} with {} values on the stack", stack.len());
                }
                let items = stack.split_off(stack.len() - n);
                stack.push(Value::Tuple(items));
            }
            b'a' => {
                let item = pop(&mut stack)?;
                match stack.last_mut() {
                    Some(Value::List(items)) => items.push(item),
                    _ => bail!("APPEND to something that is not a list"),
                }
            }
            b'e' => {
                let new = pop_to_mark(&mut stack)?;
                match stack.last_mut() {
                    Some(Value::List(items)) => items.extend(new),
                    _ => bail!("APPENDS to something that is not a list"),
                }
            }
            b's' | b'u' => {
                let values = if opcode == b's' {
                    let value = pop(&mut stack)?;
                    let key = pop(&mut stack)?;
                    vec![key, value]
                } else {
                    pop_to_mark(&mut stack)?
                };
                let Some(Value::Dict(entries)) = stack.last_mut() else {
                    bail!("SETITEM(S) on something that is not a dict")
                };
                let mut values = values.into_iter();
                while let (Some(key), Some(value)) = (values.next(), values.next()) {
                    entries.push((key, value));
                }
            }
            b'c' => {
                let module = read_line(reader)?;
                let name = read_line(reader)?;
                stack.push(global(module, name)?);
            }
            0x93 => {
                let name = pop(&mut stack)?;
                let module = pop(&mut stack)?;
                let (Value::Str(module), Value::Str(name)) = (module, name) else {
                    bail!("STACK_GLOBAL without two names")
                };
                stack.push(global(module, name)?);
            }
            b'R' => {
                let args = pop(&mut stack)?;
                let callable = pop(&mut stack)?;
                let Value::Tuple(args) = args else { bail!("REDUCE whose arguments are not a tuple") };
                stack.push(reduce(callable, args)?);
            }
            b'b' => {
                let state = pop(&mut stack)?;
                match stack.last_mut() {
                    Some(Value::Object { state: slot, .. }) => *slot = Some(Box::new(state)),
                    Some(other) => bail!("BUILD on {}", describe(other)),
                    None => bail!("BUILD with an empty stack"),
                }
            }
            0x94 | b'q' | b'r' | b'h' | b'j' => {
                let key = match opcode {
                    0x94 => memo.len() as u64,
                    b'q' | b'h' => u64::from(read_u8(reader)?),
                    _ => u64::from(u32::from_le_bytes(read_exact(reader)?)),
                };
                let value = match opcode {
                    b'h' | b'j' => memo.get(&key).ok_or_else(|| anyhow!("GET of unknown memo key {key}"))?,
                    _ => stack.last().ok_or_else(|| anyhow!("MEMOIZE or PUT with an empty stack"))?,
                };
                copies_left = copies_left.checked_sub(nodes(value)).ok_or_else(|| {
                    anyhow!(
                        "its memo copies more values than the file has bytes: a pickle that multiplies itself, not a \
                         list of encoded images; refusing it"
                    )
                })?;
                let value = value.clone();
                match opcode {
                    b'h' | b'j' => stack.push(value),
                    _ => {
                        memo.insert(key, value);
                    }
                }
            }
            b'0' => {
                pop(&mut stack)?;
            }
            0x97 | 0x98 => bail!(
                "it uses out-of-band buffers (pickle protocol 5 NEXT_BUFFER/READONLY_BUFFER), whose bytes are not in \
                 the file; pickle the images in-band (pickle.dump without buffer_callback)"
            ),
            other => bail!(
                "pickle opcode 0x{other:02x} is not supported (the file holds more than a list of encoded images)"
            ),
        }
    }
}

/// A global named by the pickle (`GLOBAL`, `STACK_GLOBAL`): a name only, and only one of [`global_allowed`].
fn global(module: String, name: String) -> Result<Value> {
    if !global_allowed(&module, &name) {
        bail!(
            "the pickle names the global {module}.{name}, which a pickle of encoded images never needs; refusing it \
             (nothing in a pickle is ever executed here; only lists of bytes or numpy uint8 arrays are read)"
        );
    }
    Ok(Value::Global(module, name))
}

/// `REDUCE`: only the constructors of the supported subset, recorded rather than run.
fn reduce(callable: Value, args: Vec<Value>) -> Result<Value> {
    let Value::Global(module, name) = callable else { bail!("REDUCE of {}, not a global", describe(&callable)) };
    if !callable_supported(&module, &name) {
        bail!(
            "the pickle calls {module}.{name}, which is not supported (only lists of bytes or numpy uint8 arrays are)"
        );
    }
    match (module.as_str(), name.as_str(), args.as_slice()) {
        // Protocol 2 writes Python 3 bytes as `_codecs.encode(latin-1 text, 'latin1')`.
        ("_codecs", "encode", [Value::Str(text), ..]) => {
            Ok(Value::Bytes(Rc::new(text.chars().map(|c| c as u32 as u8).collect())))
        }
        (_, "bytearray", [Value::Bytes(bytes)]) => Ok(Value::Bytes(bytes.clone())),
        (_, "bytearray", []) => Ok(Value::Bytes(Rc::default())),
        ("_codecs", _, _) | (_, "bytearray", _) => bail!("unexpected arguments to {module}.{name}"),
        _ => Ok(Value::Object { callable: (module, name), args, state: None }),
    }
}

fn pop(stack: &mut Vec<Value>) -> Result<Value> {
    match stack.pop() {
        Some(Value::Mark) | None => bail!("the pickle stack ran empty"),
        Some(value) => Ok(value),
    }
}

fn pop_to_mark(stack: &mut Vec<Value>) -> Result<Vec<Value>> {
    let mark = stack.iter().rposition(|v| *v == Value::Mark).ok_or_else(|| anyhow!("no MARK on the stack"))?;
    let items = stack.split_off(mark + 1);
    stack.pop();
    Ok(items)
}

fn read_u8(reader: &mut impl Read) -> Result<u8> {
    Ok(read_exact::<1>(reader)?[0])
}

fn read_exact<const N: usize>(reader: &mut impl Read) -> Result<[u8; N]> {
    let mut buffer = [0u8; N];
    reader.read_exact(&mut buffer).context("the pickle ends early (truncated file?)")?;
    Ok(buffer)
}

fn read_vec(reader: &mut impl Read, n: usize) -> Result<Vec<u8>> {
    let mut buffer = Vec::new();
    reader.take(n as u64).read_to_end(&mut buffer)?;
    if buffer.len() != n {
        bail!("the pickle ends early (truncated file?): wanted {n} bytes, found {}", buffer.len());
    }
    Ok(buffer)
}

fn read_line(reader: &mut impl BufRead) -> Result<String> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    Ok(line.trim_end_matches('\n').to_owned())
}

fn utf8(bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).context("a pickled str is not valid UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
        images_of(unpickle(&mut std::io::Cursor::new(bytes), bytes.len() as u64)?, bytes.len() as u64)
    }

    // `pickle.dumps([b'ab', b'c'], protocol=4)`
    const BYTES_LIST_P4: &[u8] = b"\x80\x04\x95\x0e\x00\x00\x00\x00\x00\x00\x00]\x94(C\x02ab\x94C\x01c\x94e.";

    #[test]
    fn reads_a_list_of_bytes() {
        assert_eq!(read(BYTES_LIST_P4).unwrap(), vec![b"ab".to_vec(), b"c".to_vec()]);
    }

    #[test]
    fn truncated_and_foreign_pickles_fail_clearly() {
        let err = read(&BYTES_LIST_P4[..20]).unwrap_err().to_string();
        assert!(err.contains("ends early"), "{err}");
        // `pickle.dumps({'a': 1}, protocol=2)`: a dict is not a list of images.
        let err = read(b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s.").unwrap_err().to_string();
        assert!(err.contains("a dict"), "{err}");
        // A REDUCE of os.system is refused, never run.
        let err = read(b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.").unwrap_err().to_string();
        assert!(err.contains("os.system"), "{err}");
    }

    #[test]
    fn forbidden_globals_are_refused_where_they_are_named() {
        // Protocol 4: STACK_GLOBAL of builtins.eval, never called.
        let err = read(b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93.").unwrap_err().to_string();
        assert!(err.contains("names the global builtins.eval"), "{err}");
        // Protocol 2: GLOBAL posix.system (what `os.system` pickles as on Linux).
        let err = read(b"\x80\x02cposix\nsystem\nq\x00.").unwrap_err().to_string();
        assert!(err.contains("names the global posix.system"), "{err}");
        // numpy's own names pass: `numpy.ndarray` is an argument of `_reconstruct`, never called.
        assert!(global("numpy".into(), "ndarray".into()).is_ok());
        assert!(global("numpy.core.multiarray".into(), "scalar".into()).is_err());
    }

    #[test]
    fn out_of_band_buffers_are_refused() {
        for opcode in [0x97u8, 0x98] {
            let err = read(&[0x80, 0x05, opcode, b'.']).unwrap_err().to_string();
            assert!(err.contains("out-of-band buffers"), "{err}");
        }
    }

    #[test]
    fn pickles_that_multiply_themselves_are_refused() {
        // "Billion laughs": each level a list of two memo references to the previous level, 2^40 values in all.
        let mut bomb = b"\x80\x02]C\x01aaq\x00".to_vec();
        for level in 0..40u8 {
            bomb.extend([b'(', b'h', level, b'h', level, b'l', b'q', level + 1]);
        }
        bomb.push(b'.');
        let err = read(&bomb).unwrap_err().to_string();
        assert!(err.contains("multiplies itself"), "{err}");
        // One 16-byte image referenced a thousand times: 16,000 bytes of images from a file of about 2,000.
        let mut repeated = b"\x80\x02C\x10abcdefghijklmnopq\x00](".to_vec();
        repeated.extend([b'h', 0].repeat(1000));
        repeated.extend(b"e.");
        let err = read(&repeated).unwrap_err().to_string();
        assert!(err.contains("add up to 16000 bytes"), "{err}");
    }
}

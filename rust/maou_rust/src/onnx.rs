//! `maou._rust.onnx`: an ONNX model evaluated through `ort`, as maou's search evaluates its
//! network (the `onnx` feature).
//!
//! ONNX Runtime is neither downloaded nor linked at build time: `ort`'s `load-dynamic`
//! strategy opens the library when a model is first evaluated, from the path the Python
//! side found (`maou/onnx.py`: the `onnxruntime` or `onnxruntime-gpu` package's own
//! `libonnxruntime.so.1.22.*`). So `import maou._rust` never needs it, and a missing or
//! mismatched runtime is an exception at the first use, not a crash (docs/onnx.md).

use std::ffi::CStr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// ONNX Runtime's minor version that this build of `ort` speaks (1.22).
#[pyfunction]
fn runtime_minor() -> u32 {
    ort::MINOR_VERSION
}

/// Evaluates the model at `model` on one float tensor (`values` in `shape`), with the ONNX
/// Runtime library at `runtime` (used from the first call on), and returns the first
/// output's values.
#[pyfunction]
fn run(
    py: Python<'_>,
    runtime: &str,
    model: &str,
    values: Vec<f32>,
    shape: Vec<i64>,
) -> PyResult<Vec<f32>> {
    py.detach(|| {
        // `ort` panics when the library cannot be opened or is too old: an exception here,
        // never an abort of the interpreter.
        catch_unwind(AssertUnwindSafe(|| evaluate(runtime, model, values, shape))).unwrap_or_else(
            |panic| {
                let why = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("a panic without a message");
                Err(format!(
                    "ONNX Runtime at {runtime} could not be used: {why}"
                ))
            },
        )
    })
    .map_err(PyRuntimeError::new_err)
}

fn evaluate(
    runtime: &str,
    model: &str,
    values: Vec<f32>,
    shape: Vec<i64>,
) -> Result<Vec<f32>, String> {
    opened(runtime)?;
    ort::init_from(runtime)
        .commit()
        .map_err(|e| format!("cannot start ONNX Runtime from {runtime}: {e}"))?;
    let mut session = ort::session::Session::builder()
        .and_then(|b| b.commit_from_file(model))
        .map_err(|e| format!("cannot load the ONNX model {model}: {e}"))?;
    let input = ort::value::Tensor::from_array((shape, values))
        .map_err(|e| format!("the input does not fit its shape: {e}"))?;
    let outputs = session
        .run(ort::inputs![input])
        .map_err(|e| format!("evaluating {model} failed: {e}"))?;
    let (_, data) = outputs[0]
        .try_extract_tensor::<f32>()
        .map_err(|e| format!("{model}'s first output is not a float tensor: {e}"))?;
    Ok(data.to_vec())
}

/// The runtime this process uses, checked before `ort` opens it: `ort` panics on a library
/// it cannot open or that is not ONNX Runtime 1.22, and opens only the first path it is
/// given. Errors name the library and the version found.
fn opened(runtime: &str) -> Result<(), String> {
    // Set only once a runtime passed: a failed call leaves the next free to name another.
    static OPENED: OnceLock<String> = OnceLock::new();
    if OPENED.get().is_none() {
        check(runtime)?;
    }
    let first = OPENED.get_or_init(|| runtime.to_owned());
    if first == runtime {
        Ok(())
    } else {
        Err(format!(
            "ONNX Runtime is already loaded from {first} in this process; {runtime} cannot \
             replace it (start a new Python process)"
        ))
    }
}

/// Opens `runtime` and asks its version (`OrtGetApiBase`, then `GetVersionString`).
fn check(runtime: &str) -> Result<(), String> {
    // SAFETY: opening a shared library runs its initialisers; this is the library the
    // caller names as ONNX Runtime, which `ort` would open the same way.
    let lib = unsafe { libloading::Library::new(runtime) }
        .map_err(|e| format!("cannot open ONNX Runtime at {runtime}: {e}"))?;
    type GetApiBase = unsafe extern "system" fn() -> *const ort::sys::OrtApiBase;
    // SAFETY: `OrtGetApiBase` has this signature in every ONNX Runtime (its C API).
    let get = unsafe { lib.get::<GetApiBase>(b"OrtGetApiBase") }
        .map_err(|_| format!("{runtime} is not ONNX Runtime: it has no OrtGetApiBase"))?;
    // SAFETY: as documented by ONNX Runtime: a static, non-null base and a static,
    // NUL-terminated version string.
    let version = unsafe {
        let base = get();
        if base.is_null() {
            return Err(format!("{runtime}: OrtGetApiBase returned nothing"));
        }
        CStr::from_ptr(((*base).GetVersionString)())
            .to_string_lossy()
            .into_owned()
    };
    let minor = version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse::<u32>().ok());
    if minor != Some(ort::MINOR_VERSION) {
        return Err(format!(
            "{runtime} is ONNX Runtime {version}; this build of maou speaks 1.{}",
            ort::MINOR_VERSION
        ));
    }
    // `ort` opens it again; it stays loaded for the process either way.
    std::mem::forget(lib);
    Ok(())
}

pub fn module(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    let m = PyModule::new(py, "onnx")?;
    m.add_function(wrap_pyfunction!(run, &m)?)?;
    m.add_function(wrap_pyfunction!(runtime_minor, &m)?)?;
    Ok(m)
}

//! One `--param`: its syntax (`NAME=A..B:STEP` or `NAME=V1,V2,...`) and setting it on
//! a profile by its dotted key, through the profile's TOML form so that every range
//! check of `Profile::validate` applies to the swept value.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sim::Profile;

use super::MAX_POINTS;

/// A parameter's value: a number or a word (`drbd.protocol=A,B,C`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// A number.
    Number(f64),
    /// Anything else, as written.
    Text(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Number(x) => write!(f, "{x}"),
            Value::Text(s) => f.write_str(s),
        }
    }
}

/// One `--param`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Param {
    /// The dotted profile key.
    pub name: String,
    /// Its values, in order.
    pub values: Vec<Value>,
}

/// A number as a grid value: rounded to 13 significant digits, so `0.1..0.3:0.1` gives
/// 0.3 and not 0.30000000000000004.
fn tidy(x: f64) -> f64 {
    format!("{x:.12e}").parse().unwrap_or(x)
}

/// Parses one `--param NAME=SPEC`.
pub fn parse_param(text: &str) -> Result<Param> {
    let (name, spec) = text.split_once('=').ok_or_else(|| {
        anyhow::anyhow!("--param {text:?}: must be NAME=A..B:STEP or NAME=V1,V2,...")
    })?;
    let name = name.trim();
    if name.is_empty()
        || name.split('.').any(|k| {
            k.is_empty()
                || !k
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
    {
        anyhow::bail!(
            "--param {text:?}: {name:?} is not a dotted profile key (heartbeat.deadtime)"
        );
    }
    let spec = spec.trim();
    let values = if let Some((a, rest)) = spec.split_once("..") {
        let range_err = |why: &str| {
            anyhow::anyhow!(
                "--param {text:?}: {spec:?} {why} (the form is A..B:STEP, e.g. 10..60:5)"
            )
        };
        let (b, step) = rest
            .split_once(':')
            .ok_or_else(|| range_err("has no :STEP"))?;
        let num = |s: &str, what: &str| -> Result<f64> {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| {
                    range_err(&format!("has {what} {:?}, not a finite number", s.trim()))
                })
        };
        let (a, b, step) = (num(a, "A")?, num(b, "B")?, num(step, "STEP")?);
        if step <= 0.0 {
            return Err(range_err("has STEP <= 0"));
        }
        if b < a {
            return Err(range_err("has B < A"));
        }
        let n = ((b - a) / step + 1e-9).floor();
        if n.is_nan() || n >= MAX_POINTS as f64 {
            return Err(range_err(&format!("has more than {MAX_POINTS} values")));
        }
        (0..=n as usize)
            .map(|i| Value::Number(tidy(a + i as f64 * step)))
            .collect()
    } else {
        let items: Vec<&str> = spec.split(',').map(str::trim).collect();
        if items.iter().any(|s| s.is_empty()) {
            anyhow::bail!("--param {text:?}: {spec:?} has an empty value");
        }
        if items.len() > MAX_POINTS {
            anyhow::bail!("--param {text:?}: more than {MAX_POINTS} values");
        }
        items
            .into_iter()
            .map(|s| match s.parse::<f64>() {
                Ok(x) if x.is_finite() => Value::Number(x),
                _ => Value::Text(s.to_string()),
            })
            .collect()
    };
    Ok(Param {
        name: name.to_string(),
        values,
    })
}

/// `profile` with the value at the dotted key `name` set to `value`, checked by
/// [`Profile::validate`]; an unknown key, a value of the wrong type or out of range is
/// an error naming the key and the value.
pub fn set_value(profile: &Profile, name: &str, value: &Value) -> Result<Profile> {
    let mut root = toml::Value::try_from(profile).context("cannot encode the profile")?;
    if let toml::Value::Table(t) = &mut root {
        // The section is left out when it holds the defaults.
        if !t.contains_key("availability") {
            t.insert(
                "availability".to_string(),
                toml::Value::try_from(&profile.availability)
                    .context("cannot encode the profile")?,
            );
        }
    }
    let keys: Vec<&str> = name.split('.').collect();
    let mut at = &mut root;
    for (depth, key) in keys.iter().enumerate() {
        let here = if depth == 0 {
            "the profile".to_string()
        } else {
            keys[..depth].join(".")
        };
        let toml::Value::Table(table) = at else {
            anyhow::bail!("--param {name}: {here} is a value, not a table");
        };
        if !table.contains_key(*key) {
            let known: Vec<&str> = table.keys().map(String::as_str).collect();
            anyhow::bail!(
                "--param {name}: no key {key:?} in {here} (it has {})",
                known.join(", ")
            );
        }
        at = table.get_mut(*key).context("a key just seen")?;
    }
    let new = match (&*at, value) {
        (toml::Value::Table(_), _) | (toml::Value::Array(_), _) => {
            anyhow::bail!("--param {name}: a table or list, not a single value")
        }
        (toml::Value::Integer(_), Value::Number(x)) => {
            if x.fract() != 0.0 || x.abs() > 9.0e15 {
                anyhow::bail!("--param {name}={value}: must be a whole number");
            }
            toml::Value::Integer(*x as i64)
        }
        (toml::Value::Boolean(_), Value::Text(s)) if s == "true" || s == "false" => {
            toml::Value::Boolean(s == "true")
        }
        (toml::Value::String(_), v) => toml::Value::String(v.to_string()),
        (_, Value::Number(x)) => toml::Value::Float(*x),
        (_, Value::Text(s)) => toml::Value::String(s.clone()),
    };
    *at = new;
    let p: Profile = root
        .try_into()
        .map_err(|e: toml::de::Error| anyhow::anyhow!("--param {name}={value}: {}", e.message()))?;
    p.validate()
        .map_err(|e| anyhow::anyhow!("--param {name}={value}: {e}"))?;
    Ok(p)
}

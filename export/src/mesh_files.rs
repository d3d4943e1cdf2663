//! Class surfaces and the plan as mesh files: binary STL, OBJ and glTF 2.0
//! binary (`.glb`), one file per class named by it (`DIR/artery.stl`,
//! `DIR/vein.obj`, ...), and a whole-scene `.glb` with the classes and the
//! plan (lesion, applicators, ablation zones).
//!
//! Coordinates are patient LPS millimetres, written as they are: no axis
//! swap, no scaling. That is what 3D Slicer expects, and each file says so:
//! the STL header holds `SPACE=LPS UNITS=mm`, the OBJ starts with
//! `# SPACE=LPS`, and the glTF's `asset.extras` is
//! `{"space": "LPS", "units": "mm"}`. glTF's own convention (metres, +Y up)
//! is deliberately not followed, so a generic glTF viewer shows the scene in
//! millimetre units with the patient's head along +Z.
//!
//! Surfaces come from [`vasa_scan::surface`] (optionally smoothed), and can
//! be thinned by [`decimate`] (vertex clustering). Every file is written
//! atomically through [`crate::write_file`], and every error names the file.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use glam::{DVec3, Vec3};
use rayon::prelude::*;
use serde_json::{Value, json};
use vasa_plan::{PlanFile, Zone};
use vasa_scan::surface::{Mesh, SurfaceOptions, class_surface};
use vasa_scan::{ClassTable, LabelMap};

use crate::{ExportError, write_file};

/// Diameter of an applicator drawn in the scene (mm).
pub const APPLICATOR_DIAMETER_MM: f64 = 1.5;
/// Opacity of ablation zones in the scene: translucent, so the lesion and
/// the vessels inside stay visible.
pub const ZONE_OPACITY: f32 = 0.35;

/// Colour of applicators (sRGB): steel grey.
const APPLICATOR_COLOR: [u8; 3] = [190, 190, 200];
/// Colour of ablation zones (sRGB): orange.
const ZONE_COLOR: [u8; 3] = [255, 165, 0];
/// Colour of a class the default table lacks (sRGB): grey.
const OTHER_CLASS_COLOR: [u8; 3] = [160, 160, 160];
/// Subdivisions of the icosahedron behind spheres and spheroids (3: 1280 triangles).
const SPHERE_SUBDIVISIONS: usize = 3;
/// Sides of an applicator's cylinder.
const CYLINDER_SIDES: usize = 16;
/// The smallest fraction of triangles [`decimate`] keeps.
const MIN_KEEP: f32 = 0.01;
/// Most trials of the cell-size search in [`decimate`].
const DECIMATE_TRIALS: usize = 16;

/// Options of exported surfaces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeshOptions {
    /// Taubin smoothing iterations (0: the raw voxel surface).
    pub smoothing_iterations: usize,
    /// Keep about this fraction of the triangles (e.g. 0.25); `None` keeps all.
    pub decimate: Option<f32>,
    /// Sample every `step`-th voxel along each axis (1: full resolution).
    pub step: usize,
}

impl Default for MeshOptions {
    /// Smoothed (10 iterations), full resolution, every triangle kept.
    fn default() -> Self {
        MeshOptions { smoothing_iterations: 10, decimate: None, step: 1 }
    }
}

/// One named, coloured part of a scene.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenePart {
    /// The class ("artery") or plan item ("zone 1"): names files and glTF nodes.
    pub name: String,
    /// The surface (patient LPS mm).
    pub mesh: Mesh,
    /// Display colour (sRGB).
    pub color: [u8; 3],
    /// 1: opaque; less: translucent.
    pub opacity: f32,
}

/// The surface of each of `classes` present in `labels` (absent classes are
/// skipped), named and coloured from the default class table, opaque; built
/// in parallel, in the order of `classes`.
pub fn class_parts(labels: &LabelMap, classes: &[u8], options: &MeshOptions) -> Vec<ScenePart> {
    let table = ClassTable::default();
    let surface = SurfaceOptions { smoothing_iterations: options.smoothing_iterations, step: options.step.max(1) };
    classes
        .par_iter()
        .filter_map(|&class| {
            let mut mesh = class_surface(labels, class, &surface);
            if let Some(keep) = options.decimate {
                mesh = decimate(&mesh, keep);
            }
            if mesh.is_empty() {
                return None;
            }
            let color = table.get(class).map_or(OTHER_CLASS_COLOR, |c| c.color);
            Some(ScenePart { name: table.name(class), mesh, color, opacity: 1.0 })
        })
        .collect()
}

/// `mesh` with about `keep` of its triangles, its shape kept: vertex
/// clustering (each cell of a grid becomes one vertex at the mean of its
/// vertices), with the cell size searched for the target count; normals
/// recomputed. `keep` is clamped to [0.01, 1] (1 and NaN: the mesh as it
/// is); an empty mesh gives an empty one, and triangles with indices out of
/// range or non-finite vertices are dropped.
pub fn decimate(mesh: &Mesh, keep: f32) -> Mesh {
    let keep = if keep.is_nan() { 1.0 } else { keep.clamp(MIN_KEEP, 1.0) };
    let triangles = valid_triangles(mesh);
    if triangles.is_empty() {
        return Mesh::default();
    }
    if keep >= 1.0 {
        return mesh.clone();
    }
    let positions: Vec<DVec3> = mesh.positions.iter().map(|p| DVec3::from(Vec3::from(*p))).collect();
    let Some((corner, diagonal, edge)) = extent(&positions, &triangles) else { return mesh.clone() };
    let target = ((triangles.len() as f64 * keep as f64).ceil() as usize).max(1);
    // Geometric bisection on the cell size: tiny cells keep every triangle,
    // cells the size of the mesh keep none.
    let (mut small, mut large) = (edge * 0.25, diagonal * 2.0 + edge);
    let mut best: Option<Mesh> = None;
    for _ in 0..DECIMATE_TRIALS {
        let cell = (small * large).sqrt();
        let trial = cluster(&positions, &triangles, corner, cell);
        let count = trial.triangle_count();
        if count > target {
            small = cell;
        } else {
            large = cell;
        }
        if best.as_ref().is_none_or(|b| count.abs_diff(target) < b.triangle_count().abs_diff(target)) {
            best = Some(trial);
        }
        if count.abs_diff(target) * 20 <= target {
            break;
        }
    }
    best.unwrap_or_default()
}

/// The triangles of `mesh` whose indices are in range and whose vertices
/// are finite.
fn valid_triangles(mesh: &Mesh) -> Vec<[u32; 3]> {
    let ok = |i: u32| mesh.positions.get(i as usize).is_some_and(|p| p.iter().all(|v| v.is_finite()));
    mesh.indices.chunks_exact(3).map(|t| [t[0], t[1], t[2]]).filter(|t| t.iter().all(|&i| ok(i))).collect()
}

/// Lowest corner and diagonal of the box around the triangles' vertices,
/// and their mean edge length; `None` when the edges have no length.
fn extent(positions: &[DVec3], triangles: &[[u32; 3]]) -> Option<(DVec3, f64, f64)> {
    let (mut lo, mut hi) = (DVec3::splat(f64::INFINITY), DVec3::splat(f64::NEG_INFINITY));
    let mut edges = 0.0;
    for t in triangles {
        let [a, b, c] = t.map(|i| positions[i as usize]);
        lo = lo.min(a).min(b).min(c);
        hi = hi.max(a).max(b).max(c);
        edges += (b - a).length() + (c - b).length() + (a - c).length();
    }
    let edge = edges / (3 * triangles.len()) as f64;
    (edge > 0.0 && edge.is_finite()).then_some((lo, (hi - lo).length(), edge))
}

/// Vertex clustering on a grid of `cell` mm cubes from `corner`: each
/// occupied cell becomes one vertex at the mean of its vertices; triangles
/// that collapse, or repeat one already kept, are dropped.
fn cluster(positions: &[DVec3], triangles: &[[u32; 3]], corner: DVec3, cell: f64) -> Mesh {
    let mut cluster_of = vec![u32::MAX; positions.len()];
    let mut cells: HashMap<[i64; 3], u32> = HashMap::new();
    let mut sums: Vec<(DVec3, f64)> = Vec::new();
    let mut id = |v: u32| -> u32 {
        if cluster_of[v as usize] == u32::MAX {
            let p = positions[v as usize];
            let g = ((p - corner) / cell).floor();
            let next = sums.len() as u32;
            let c = *cells.entry([g.x as i64, g.y as i64, g.z as i64]).or_insert(next);
            if c == next {
                sums.push((DVec3::ZERO, 0.0));
            }
            sums[c as usize].0 += p;
            sums[c as usize].1 += 1.0;
            cluster_of[v as usize] = c;
        }
        cluster_of[v as usize]
    };
    let mut seen = HashSet::new();
    let mut kept = Vec::new();
    for t in triangles {
        let c = t.map(&mut id);
        if c[0] != c[1] && c[1] != c[2] && c[2] != c[0] && seen.insert(rotated_to_smallest(c)) {
            kept.push(c);
        }
    }
    let centres: Vec<DVec3> = sums.iter().map(|(sum, n)| *sum / *n).collect();
    compact(&centres, &kept)
}

/// The same oriented triangle, starting at its smallest index (so that
/// repeats compare equal).
fn rotated_to_smallest(t: [u32; 3]) -> [u32; 3] {
    let first = (0..3).min_by_key(|&k| t[k]).unwrap_or(0);
    [t[first], t[(first + 1) % 3], t[(first + 2) % 3]]
}

/// A mesh of `triangles` over the `positions` they use (unused ones
/// dropped), with area-weighted normals.
fn compact(positions: &[DVec3], triangles: &[[u32; 3]]) -> Mesh {
    let mut new_index = vec![u32::MAX; positions.len()];
    let mut used: Vec<DVec3> = Vec::new();
    let mut indices = Vec::with_capacity(triangles.len() * 3);
    for t in triangles {
        for &v in t {
            if new_index[v as usize] == u32::MAX {
                new_index[v as usize] = used.len() as u32;
                used.push(positions[v as usize]);
            }
            indices.push(new_index[v as usize]);
        }
    }
    to_mesh(&used, area_weighted_normals(&used, &indices), indices)
}

/// Unit vertex normals: the sum of the adjacent triangles' area vectors.
fn area_weighted_normals(positions: &[DVec3], indices: &[u32]) -> Vec<DVec3> {
    let mut sums = vec![DVec3::ZERO; positions.len()];
    for t in indices.chunks_exact(3) {
        let [a, b, c] = [t[0], t[1], t[2]].map(|i| positions[i as usize]);
        let n = (b - a).cross(c - a);
        for &i in t {
            sums[i as usize] += n;
        }
    }
    sums.iter().map(|n| n.normalize_or_zero()).collect()
}

/// A [`Mesh`] (single precision) from double-precision vertices.
fn to_mesh(positions: &[DVec3], normals: Vec<DVec3>, indices: Vec<u32>) -> Mesh {
    Mesh {
        positions: positions.iter().map(|p| p.as_vec3().to_array()).collect(),
        normals: normals.iter().map(|n| n.as_vec3().to_array()).collect(),
        indices,
    }
}

/// Checks that `mesh` can be written: whole triangles, indices in range,
/// finite vertices, one normal per vertex. The error names `path` and the
/// part.
fn check_mesh(path: &Path, name: &str, mesh: &Mesh) -> Result<(), ExportError> {
    let bad = |what: String| Err(ExportError::bad(path, format!("{name}: {what}")));
    if !mesh.indices.len().is_multiple_of(3) {
        return bad(format!("{} indices do not make whole triangles", mesh.indices.len()));
    }
    if let Some(i) = mesh.indices.iter().find(|&&i| i as usize >= mesh.positions.len()) {
        return bad(format!("a triangle uses vertex {i} of {}", mesh.positions.len()));
    }
    if let Some(p) = mesh.positions.iter().find(|p| !p.iter().all(|v| v.is_finite())) {
        return bad(format!("vertex {p:?} is not a point in mm"));
    }
    if mesh.normals.len() != mesh.positions.len() {
        return bad(format!("{} normals for {} vertices", mesh.normals.len(), mesh.positions.len()));
    }
    Ok(())
}

/// Writes `mesh` as binary STL: an 80-byte header naming the part and the
/// frame (`Vasa <name> SPACE=LPS UNITS=mm`, which 3D Slicer reads), then
/// each triangle with its facet normal computed from its vertices.
pub fn write_stl(path: &Path, mesh: &Mesh, name: &str) -> Result<(), ExportError> {
    check_mesh(path, name, mesh)?;
    let count = u32::try_from(mesh.triangle_count())
        .map_err(|_| ExportError::bad(path, format!("{name}: too many triangles for STL")))?;
    let mut bytes = Vec::with_capacity(84 + 50 * count as usize);
    bytes.extend_from_slice(&stl_header(name));
    bytes.extend_from_slice(&count.to_le_bytes());
    for t in mesh.indices.chunks_exact(3) {
        let [a, b, c] = [t[0], t[1], t[2]].map(|i| Vec3::from(mesh.positions[i as usize]));
        let [da, db, dc] = [a, b, c].map(DVec3::from);
        let normal = (db - da).cross(dc - da).normalize_or_zero().as_vec3();
        for v in [normal, a, b, c] {
            for x in v.to_array() {
                bytes.extend_from_slice(&x.to_le_bytes());
            }
        }
        bytes.extend_from_slice(&0u16.to_le_bytes());
    }
    write_file(path, &bytes)
}

/// The 80-byte STL header: `Vasa <name> SPACE=LPS UNITS=mm`, the name
/// shortened to fit, padded with spaces (never starting with `solid`, which
/// would mark an ASCII STL).
fn stl_header(name: &str) -> [u8; 80] {
    const PREFIX: &str = "Vasa ";
    const SUFFIX: &str = " SPACE=LPS UNITS=mm";
    let name = one_line(name);
    let mut end = name.len().min(80 - PREFIX.len() - SUFFIX.len());
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    let text = format!("{PREFIX}{}{SUFFIX}", &name[..end]);
    let mut header = [b' '; 80];
    header[..text.len()].copy_from_slice(text.as_bytes());
    header
}

/// `name` with control characters (line breaks) turned into spaces.
fn one_line(name: &str) -> String {
    name.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Writes `part` as a text OBJ: a first comment `# SPACE=LPS` (read by 3D
/// Slicer), a comment giving the units (mm), `o <name>`, `v` and `vn` lines
/// and faces `f a//a b//b c//c`.
pub fn write_obj(path: &Path, part: &ScenePart) -> Result<(), ExportError> {
    check_mesh(path, &part.name, &part.mesh)?;
    let text = obj_text(part).map_err(|e| ExportError::io(path, e))?;
    write_file(path, &text)
}

/// The OBJ file of `part`, in memory.
fn obj_text(part: &ScenePart) -> std::io::Result<Vec<u8>> {
    let mesh = &part.mesh;
    let name = one_line(&part.name);
    let mut out = Vec::with_capacity(64 * (mesh.positions.len() + mesh.triangle_count()));
    writeln!(out, "# SPACE=LPS")?;
    writeln!(out, "# Vasa {name}: patient LPS coordinates, UNITS=mm")?;
    writeln!(out, "o {name}")?;
    for p in &mesh.positions {
        writeln!(out, "v {} {} {}", p[0], p[1], p[2])?;
    }
    for n in &mesh.normals {
        writeln!(out, "vn {} {} {}", n[0], n[1], n[2])?;
    }
    for t in mesh.indices.chunks_exact(3) {
        let [a, b, c] = [t[0], t[1], t[2]].map(|i| i as u64 + 1);
        writeln!(out, "f {a}//{a} {b}//{b} {c}//{c}")?;
    }
    Ok(out)
}

/// Writes `parts` as one glTF 2.0 binary (`.glb`): a node, mesh and
/// material per part (parts with empty meshes skipped), positions in LPS mm
/// (`asset.extras` says so). An error when there is nothing to write.
pub fn write_glb(path: &Path, parts: &[ScenePart]) -> Result<(), ExportError> {
    let parts: Vec<&ScenePart> = parts.iter().filter(|p| !p.mesh.is_empty()).collect();
    if parts.is_empty() {
        return Err(ExportError::bad(path, "nothing to write: every mesh is empty"));
    }
    let mut gltf = Gltf::default();
    for part in parts {
        check_mesh(path, &part.name, &part.mesh)?;
        gltf.add_part(part);
    }
    let bytes = gltf.into_glb().map_err(|what| ExportError::bad(path, what))?;
    write_file(path, &bytes)
}

/// A glTF document being built: the JSON arrays and the binary buffer.
#[derive(Default)]
struct Gltf {
    bin: Vec<u8>,
    buffer_views: Vec<Value>,
    accessors: Vec<Value>,
    materials: Vec<Value>,
    meshes: Vec<Value>,
    nodes: Vec<Value>,
}

/// glTF component type: 32-bit float.
const FLOAT: u32 = 5126;
/// glTF component type: 32-bit unsigned integer.
const UNSIGNED_INT: u32 = 5125;
/// glTF buffer view target of vertex attributes.
const ARRAY_BUFFER: u32 = 34962;
/// glTF buffer view target of indices.
const ELEMENT_ARRAY_BUFFER: u32 = 34963;
/// glTF primitive mode: triangles.
const TRIANGLES: u32 = 4;

impl Gltf {
    /// Adds `part` as a material, a mesh of one triangle primitive, and a node.
    fn add_part(&mut self, part: &ScenePart) {
        let mesh = &part.mesh;
        let position = self.push_vec3(&mesh.positions, true);
        let normals: Vec<[f32; 3]> = mesh.normals.iter().map(|n| unit_normal(*n)).collect();
        let normal = self.push_vec3(&normals, false);
        let indices = self.push_indices(&mesh.indices);
        let material_index = self.materials.len();
        self.materials.push(material(part));
        let index = self.meshes.len();
        self.meshes.push(json!({
            "name": part.name,
            "primitives": [{
                "attributes": { "POSITION": position, "NORMAL": normal },
                "indices": indices,
                "material": material_index,
                "mode": TRIANGLES,
            }],
        }));
        self.nodes.push(json!({ "name": part.name, "mesh": index }));
    }

    /// Appends `bytes` to the buffer as a new buffer view; its index.
    fn push_view(&mut self, bytes: &[u8], target: u32) -> usize {
        // Every element is 4 bytes, so views stay 4-byte aligned.
        let offset = self.bin.len();
        self.bin.extend_from_slice(bytes);
        self.buffer_views.push(json!({
            "buffer": 0, "byteOffset": offset, "byteLength": bytes.len(), "target": target,
        }));
        self.buffer_views.len() - 1
    }

    /// A float VEC3 accessor of `data` (with its min and max when `bounds`,
    /// as glTF requires for positions); its index.
    fn push_vec3(&mut self, data: &[[f32; 3]], bounds: bool) -> usize {
        let bytes: Vec<u8> = data.iter().flatten().flat_map(|v| v.to_le_bytes()).collect();
        let view = self.push_view(&bytes, ARRAY_BUFFER);
        let mut accessor = json!({ "bufferView": view, "componentType": FLOAT, "count": data.len(), "type": "VEC3" });
        if bounds {
            let (lo, hi) = data
                .iter()
                .map(|p| Vec3::from(*p))
                .fold((Vec3::splat(f32::INFINITY), Vec3::splat(f32::NEG_INFINITY)), |(lo, hi), p| {
                    (lo.min(p), hi.max(p))
                });
            accessor["min"] = json!(lo.to_array());
            accessor["max"] = json!(hi.to_array());
        }
        self.accessors.push(accessor);
        self.accessors.len() - 1
    }

    /// An unsigned-int SCALAR accessor of triangle indices; its index.
    fn push_indices(&mut self, indices: &[u32]) -> usize {
        let bytes: Vec<u8> = indices.iter().flat_map(|i| i.to_le_bytes()).collect();
        let view = self.push_view(&bytes, ELEMENT_ARRAY_BUFFER);
        self.accessors.push(json!({
            "bufferView": view, "componentType": UNSIGNED_INT, "count": indices.len(), "type": "SCALAR",
        }));
        self.accessors.len() - 1
    }

    /// The JSON document.
    fn document(&self) -> Value {
        json!({
            "asset": {
                "version": "2.0",
                "generator": "Vasa",
                "extras": { "space": "LPS", "units": "mm" },
            },
            "scene": 0,
            "scenes": [{ "name": "Vasa", "nodes": (0..self.nodes.len()).collect::<Vec<_>>() }],
            "nodes": self.nodes,
            "meshes": self.meshes,
            "materials": self.materials,
            "accessors": self.accessors,
            "bufferViews": self.buffer_views,
            "buffers": [{ "byteLength": self.bin.len() }],
        })
    }

    /// The `.glb` file: a 12-byte header, the JSON chunk (padded with
    /// spaces) and the BIN chunk (padded with zeros), both 4-byte aligned.
    fn into_glb(self) -> Result<Vec<u8>, String> {
        let mut json = serde_json::to_vec(&self.document()).map_err(|e| format!("glTF JSON: {e}"))?;
        json.resize(json.len().next_multiple_of(4), b' ');
        let mut bin = self.bin;
        bin.resize(bin.len().next_multiple_of(4), 0);
        let total = 12 + 8 + json.len() + 8 + bin.len();
        let too_big = |_| format!("{total} bytes: too large for a .glb (at most 4 GiB)");
        let total = u32::try_from(total).map_err(too_big)?;
        let mut out = Vec::with_capacity(total as usize);
        out.extend_from_slice(b"glTF");
        out.extend_from_slice(&2u32.to_le_bytes());
        out.extend_from_slice(&total.to_le_bytes());
        for (chunk, kind) in [(&json, b"JSON"), (&bin, b"BIN\0")] {
            out.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
            out.extend_from_slice(kind);
            out.extend_from_slice(chunk);
        }
        Ok(out)
    }
}

/// The glTF material of `part`: its colour (linear, as glTF wants) and
/// opacity, blended when translucent.
fn material(part: &ScenePart) -> Value {
    let [r, g, b] = part.color.map(srgb_to_linear);
    let alpha = if part.opacity.is_nan() { 1.0 } else { part.opacity.clamp(0.0, 1.0) as f64 };
    json!({
        "name": part.name,
        "pbrMetallicRoughness": {
            "baseColorFactor": [r, g, b, alpha],
            "metallicFactor": 0.0,
            "roughnessFactor": 0.6,
        },
        "alphaMode": if alpha < 1.0 { "BLEND" } else { "OPAQUE" },
        "doubleSided": alpha < 1.0,
    })
}

/// An sRGB channel (0–255) as a linear intensity (0–1).
fn srgb_to_linear(c: u8) -> f64 {
    let c = c as f64 / 255.0;
    if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
}

/// `n` scaled to unit length (glTF requires it); +Z for a zero or
/// non-finite normal (a vertex of degenerate triangles only).
fn unit_normal(n: [f32; 3]) -> [f32; 3] {
    DVec3::from(Vec3::from(n)).try_normalize().map_or([0.0, 0.0, 1.0], |n| n.as_vec3().to_array())
}

/// The plan as scene parts: the lesion sphere (`"lesion"`, unless it is
/// painted into the labels), then for each applicator a thin cylinder from
/// entry to target (`"applicator N"`, 1.5 mm wide) and its ablation zone, a
/// translucent spheroid (`"zone N"`). Items with impossible sizes are left
/// out.
pub fn plan_parts(plan: &PlanFile) -> Vec<ScenePart> {
    let mut parts = Vec::new();
    if let Some(lesion) = plan.lesion.as_ref().filter(|_| !plan.lesion_painted) {
        let radius = lesion.diameter_mm / 2.0;
        let color = ClassTable::default().get(vasa_scan::labels::LESION).map_or(OTHER_CLASS_COLOR, |c| c.color);
        let mesh = ellipsoid(DVec3::from_array(lesion.centre_mm), DVec3::Z, radius, radius);
        parts.push(ScenePart { name: "lesion".into(), mesh, color, opacity: 1.0 });
    }
    for (i, applicator) in plan.applicators.iter().enumerate() {
        let n = i + 1;
        let (entry, target) = (DVec3::from_array(applicator.entry_mm), DVec3::from_array(applicator.target_mm));
        let mesh = cylinder(entry, target, APPLICATOR_DIAMETER_MM / 2.0);
        parts.push(ScenePart { name: format!("applicator {n}"), mesh, color: APPLICATOR_COLOR, opacity: 1.0 });
        let zone = Zone::along(entry, target, applicator.setting.length_mm, applicator.setting.width_mm);
        let mesh = ellipsoid(zone.centre, zone.axis, zone.length_mm / 2.0, zone.width_mm / 2.0);
        parts.push(ScenePart { name: format!("zone {n}"), mesh, color: ZONE_COLOR, opacity: ZONE_OPACITY });
    }
    parts.retain(|p| !p.mesh.is_empty());
    parts
}

/// A spheroid around `centre`: semi-axis `along` on the unit vector `axis`,
/// `across` perpendicular to it; empty when a size or point is not finite
/// and positive.
fn ellipsoid(centre: DVec3, axis: DVec3, along: f64, across: f64) -> Mesh {
    let sizes_ok = [along, across].iter().all(|s| s.is_finite() && *s > 0.0);
    let Some(w) = axis.try_normalize().filter(|_| sizes_ok && centre.is_finite()) else { return Mesh::default() };
    // (u, v, w) right-handed, so the sphere's outward winding is kept.
    let u = w.any_orthonormal_vector();
    let v = w.cross(u);
    let (sphere, indices) = icosphere(SPHERE_SUBDIVISIONS);
    let positions: Vec<DVec3> =
        sphere.iter().map(|p| centre + u * (across * p.x) + v * (across * p.y) + w * (along * p.z)).collect();
    // The gradient of the spheroid's implicit function.
    let normals =
        sphere.iter().map(|p| (u * (p.x / across) + v * (p.y / across) + w * (p.z / along)).normalize()).collect();
    to_mesh(&positions, normals, indices)
}

/// A unit icosphere: the icosahedron with each triangle split in four
/// `subdivisions` times, vertices pushed onto the sphere; triangles
/// counter-clockwise seen from outside.
fn icosphere(subdivisions: usize) -> (Vec<DVec3>, Vec<u32>) {
    let t = (1.0 + 5f64.sqrt()) / 2.0;
    let mut points: Vec<DVec3> = [
        [-1.0, t, 0.0],
        [1.0, t, 0.0],
        [-1.0, -t, 0.0],
        [1.0, -t, 0.0],
        [0.0, -1.0, t],
        [0.0, 1.0, t],
        [0.0, -1.0, -t],
        [0.0, 1.0, -t],
        [t, 0.0, -1.0],
        [t, 0.0, 1.0],
        [-t, 0.0, -1.0],
        [-t, 0.0, 1.0],
    ]
    .iter()
    .map(|p| DVec3::from_array(*p).normalize())
    .collect();
    let mut faces: Vec<[u32; 3]> = vec![
        [0, 11, 5],
        [0, 5, 1],
        [0, 1, 7],
        [0, 7, 10],
        [0, 10, 11],
        [1, 5, 9],
        [5, 11, 4],
        [11, 10, 2],
        [10, 7, 6],
        [7, 1, 8],
        [3, 9, 4],
        [3, 4, 2],
        [3, 2, 6],
        [3, 6, 8],
        [3, 8, 9],
        [4, 9, 5],
        [2, 4, 11],
        [6, 2, 10],
        [8, 6, 7],
        [9, 8, 1],
    ];
    for _ in 0..subdivisions {
        let mut midpoints: HashMap<(u32, u32), u32> = HashMap::new();
        let mut mid = |a: u32, b: u32| -> u32 {
            *midpoints.entry((a.min(b), a.max(b))).or_insert_with(|| {
                points.push(((points[a as usize] + points[b as usize]) / 2.0).normalize());
                (points.len() - 1) as u32
            })
        };
        faces = faces
            .iter()
            .flat_map(|&[a, b, c]| {
                let (ab, bc, ca) = (mid(a, b), mid(b, c), mid(c, a));
                [[a, ab, ca], [b, bc, ab], [c, ca, bc], [ab, bc, ca]]
            })
            .collect();
    }
    (points, faces.into_iter().flatten().collect())
}

/// A closed cylinder of `radius` from `from` to `to` (sides with radial
/// normals, flat caps); empty when the ends coincide or are not finite.
fn cylinder(from: DVec3, to: DVec3, radius: f64) -> Mesh {
    let length = (to - from).length();
    if !(length > 1e-9 && length.is_finite() && radius > 0.0) {
        return Mesh::default();
    }
    let w = (to - from) / length;
    let u = w.any_orthonormal_vector();
    let v = w.cross(u);
    let n = CYLINDER_SIDES;
    let ring: Vec<DVec3> = (0..n)
        .map(|s| {
            let angle = std::f64::consts::TAU * s as f64 / n as f64;
            u * angle.cos() + v * angle.sin()
        })
        .collect();
    let (mut positions, mut normals, mut indices) = (Vec::new(), Vec::new(), Vec::new());
    // Sides: ring at `from` (0..n), ring at `to` (n..2n).
    for end in [from, to] {
        for r in &ring {
            positions.push(end + *r * radius);
            normals.push(*r);
        }
    }
    for s in 0..n {
        let (b0, b1, t0, t1) = (s, (s + 1) % n, n + s, n + (s + 1) % n);
        indices.extend([b0, b1, t1, b0, t1, t0].map(|i| i as u32));
    }
    // Caps: a fan around each end's centre, facing away from the other end.
    for (end, facing_to) in [(from, false), (to, true)] {
        let normal = if facing_to { w } else { -w };
        let centre = positions.len();
        positions.push(end);
        normals.push(normal);
        for r in &ring {
            positions.push(end + *r * radius);
            normals.push(normal);
        }
        for s in 0..n {
            let (a, b) = (centre + 1 + s, centre + 1 + (s + 1) % n);
            let fan = if facing_to { [centre, a, b] } else { [centre, b, a] };
            indices.extend(fan.map(|i| i as u32));
        }
    }
    to_mesh(&positions, normals, indices)
}

/// Writes each part with a non-empty mesh as `DIR/<name>.stl` and/or
/// `DIR/<name>.obj` (the name made safe for a file: spaces and other
/// punctuation become `-`, repeats get `-2`, `-3`, ...), creating `DIR`;
/// the files written, in order.
pub fn write_class_files(dir: &Path, parts: &[ScenePart], stl: bool, obj: bool) -> Result<Vec<PathBuf>, ExportError> {
    std::fs::create_dir_all(dir).map_err(|e| ExportError::io(dir, e))?;
    let mut used = HashSet::new();
    let mut written = Vec::new();
    for part in parts.iter().filter(|p| !p.mesh.is_empty()) {
        let stem = unique_stem(&part.name, &mut used);
        if stl {
            let path = dir.join(format!("{stem}.stl"));
            write_stl(&path, &part.mesh, &part.name)?;
            written.push(path);
        }
        if obj {
            let path = dir.join(format!("{stem}.obj"));
            write_obj(&path, part)?;
            written.push(path);
        }
    }
    Ok(written)
}

/// A file name stem for `name`: letters, digits, `-` and `_` kept, anything
/// else (spaces, dots, slashes) a `-`; `part` when empty; suffixed `-2`,
/// `-3`, ... when already in `used` (compared ignoring case), then added.
fn unique_stem(name: &str, used: &mut HashSet<String>) -> String {
    let safe: String = name.chars().map(|c| if c.is_alphanumeric() || c == '_' { c } else { '-' }).collect();
    let base = if safe.is_empty() { "part".to_string() } else { safe };
    let mut stem = base.clone();
    let mut n = 1;
    while !used.insert(stem.to_lowercase()) {
        n += 1;
        stem = format!("{base}-{n}");
    }
    stem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_icosphere_is_closed_outward_and_on_the_unit_sphere() {
        let (points, indices) = icosphere(2);
        assert_eq!(indices.len() / 3, 20 * 16);
        assert_eq!(points.len(), 162);
        for p in &points {
            assert!((p.length() - 1.0).abs() < 1e-12);
        }
        for t in indices.chunks_exact(3) {
            let [a, b, c] = [t[0], t[1], t[2]].map(|i| points[i as usize]);
            assert!((b - a).cross(c - a).dot(a + b + c) > 0.0, "triangle {t:?} faces inwards");
        }
        let mesh = to_mesh(&points, area_weighted_normals(&points, &indices), indices);
        let v = mesh.enclosed_volume();
        assert!((v / (4.0 / 3.0 * std::f64::consts::PI) - 1.0).abs() < 0.05, "{v}");
    }

    #[test]
    fn a_cylinder_is_closed_and_outward() {
        let (from, to) = (DVec3::new(1.0, 2.0, 3.0), DVec3::new(-20.0, 30.0, 7.0));
        let mesh = cylinder(from, to, 0.75);
        let volume = std::f64::consts::PI * 0.75f64.powi(2) * (to - from).length();
        // A 16-sided prism holds 97.4 % of the circle's area.
        let ratio = mesh.enclosed_volume() / volume;
        assert!((0.95..1.0).contains(&ratio), "{ratio}");
        assert!(cylinder(from, from, 0.75).is_empty());
        assert!(cylinder(from, DVec3::splat(f64::NAN), 0.75).is_empty());
    }

    #[test]
    fn stl_headers_fit_and_never_look_like_ascii_stl() {
        let h = stl_header("artery");
        assert!(h.starts_with(b"Vasa artery SPACE=LPS UNITS=mm "));
        let long = "é".repeat(100);
        let h = stl_header(&long);
        let text = String::from_utf8(h.to_vec()).expect("UTF-8 kept whole");
        assert!(text.trim_end().ends_with("SPACE=LPS UNITS=mm"), "{text}");
        assert!(!stl_header("solid\nx").starts_with(b"solid"));
    }

    #[test]
    fn file_stems_are_safe_and_unique() {
        let mut used = HashSet::new();
        assert_eq!(unique_stem("applicator 1", &mut used), "applicator-1");
        assert_eq!(unique_stem("../etc/passwd", &mut used), "---etc-passwd");
        assert_eq!(unique_stem("Applicator 1", &mut used), "Applicator-1-2");
        assert_eq!(unique_stem("", &mut used), "part");
    }

    #[test]
    fn decimate_never_panics_on_odd_input() {
        let empty = Mesh::default();
        assert!(decimate(&empty, 0.25).is_empty());
        let (points, indices) = icosphere(1);
        let sphere = to_mesh(&points, area_weighted_normals(&points, &indices), indices);
        for keep in [f32::NAN, -1.0, 0.0, 1e-9, 0.5, 1.0, 7.0, f32::INFINITY] {
            let m = decimate(&sphere, keep);
            assert!(m.indices.iter().all(|&i| (i as usize) < m.positions.len()), "keep {keep}");
            assert_eq!(m.normals.len(), m.positions.len());
        }
        assert_eq!(decimate(&sphere, 2.0), sphere);
        let broken = Mesh { indices: vec![0, 1, 99, 0, 1], ..sphere.clone() };
        assert!(decimate(&broken, 0.5).is_empty());
        let flat = Mesh { positions: vec![[1.0; 3]; 3], normals: vec![[0.0; 3]; 3], indices: vec![0, 1, 2] };
        assert_eq!(decimate(&flat, 0.5).triangle_count(), 1);
    }

    #[test]
    fn colours_become_linear_and_normals_unit() {
        assert_eq!(srgb_to_linear(0), 0.0);
        assert_eq!(srgb_to_linear(255), 1.0);
        assert!((srgb_to_linear(128) - 0.2158).abs() < 1e-3);
        assert_eq!(unit_normal([0.0, 0.0, 0.0]), [0.0, 0.0, 1.0]);
        assert_eq!(unit_normal([0.0, 3.0, 0.0]), [0.0, 1.0, 0.0]);
    }
}

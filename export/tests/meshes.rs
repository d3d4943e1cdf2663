//! Mesh files read back: STL, OBJ and glTF vertices lie on the label
//! boundary in patient mm, the glTF is structurally sound, decimation keeps
//! the shape, the plan becomes meshes on its geometry, and bad input gives
//! errors naming the file.

use std::path::Path;

use glam::{DMat3, DVec3, Vec3};
use serde_json::Value;
use vasa_export::mesh_files::{
    MeshOptions, ScenePart, class_parts, decimate, plan_parts, write_class_files, write_glb, write_obj, write_stl,
};
use vasa_plan::plan_file::{ApplicatorFile, LesionFile};
use vasa_plan::{PlanFile, Zone, ZoneTable};
use vasa_scan::surface::{Mesh, SurfaceOptions, class_surface};
use vasa_scan::{Geometry, LabelMap, Volume};

/// An anisotropic grid, rotated 20° about z, off the origin.
fn oblique_geometry() -> Geometry {
    Geometry {
        spacing: DVec3::new(0.7, 0.9, 1.6),
        origin: DVec3::new(-40.0, 15.5, 120.0),
        direction: DMat3::from_rotation_z(20f64.to_radians()),
    }
}

/// A ball of arteries (class 1, radius 5 mm) and a bar of aorta (class 3)
/// on the oblique grid.
fn scene_labels() -> LabelMap {
    let mut labels = Volume::filled([36, 32, 20], 0u8, oblique_geometry());
    let centre = labels.voxel_to_world([11, 14, 9]);
    for k in 0..20 {
        for j in 0..32 {
            for i in 0..36 {
                let at = labels.index(i, j, k);
                if (labels.voxel_to_world([i, j, k]) - centre).length() <= 5.0 {
                    labels.data_mut()[at] = 1;
                } else if (22..32).contains(&i) && (12..17).contains(&j) && (6..12).contains(&k) {
                    labels.data_mut()[at] = 3;
                }
            }
        }
    }
    labels
}

/// A ball of radius `r` mm of class 2 in the middle of a 40³ grid of 0.8 mm.
fn ball_labels(r: f64) -> LabelMap {
    let mut labels = Volume::filled([40, 40, 40], 0u8, Geometry::axis_aligned(DVec3::splat(0.8), DVec3::ZERO));
    let centre = DVec3::splat(0.8 * 19.5);
    for k in 0..40 {
        for j in 0..40 {
            for i in 0..40 {
                if (labels.voxel_to_world([i, j, k]) - centre).length() <= r {
                    let at = labels.index(i, j, k);
                    labels.data_mut()[at] = 2;
                }
            }
        }
    }
    labels
}

/// True when the cell of voxel centres around `p` (patient mm) holds a
/// voxel of `class` and one of something else (outside the grid counts as
/// something else): `p` lies on the class boundary.
fn on_boundary(labels: &LabelMap, class: u8, p: [f32; 3]) -> bool {
    let x = labels.geometry.world_to_voxel(DVec3::from(Vec3::from(p)));
    let (mut inside, mut outside) = (false, false);
    for corner in 0..8 {
        let pick = |axis: usize, v: f64| if corner >> axis & 1 == 0 { v.floor() } else { v.ceil() };
        let ijk = [pick(0, x.x), pick(1, x.y), pick(2, x.z)];
        let label = if ijk.iter().all(|&v| v >= 0.0) {
            labels.get(ijk[0] as usize, ijk[1] as usize, ijk[2] as usize).copied().unwrap_or(0)
        } else {
            0
        };
        if label == class {
            inside = true;
        } else {
            outside = true;
        }
    }
    inside && outside
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn f32_at(bytes: &[u8], at: usize) -> f32 {
    f32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// A binary STL read back: its header and, per triangle, the facet normal
/// and the three vertices.
fn parse_stl(bytes: &[u8]) -> ([u8; 80], Vec<[[f32; 3]; 4]>) {
    assert!(bytes.len() >= 84, "STL shorter than its header");
    let count = u32_at(bytes, 80) as usize;
    assert_eq!(bytes.len(), 84 + 50 * count, "the triangle count field matches the file length");
    let triangles = (0..count)
        .map(|t| {
            let at = 84 + 50 * t;
            std::array::from_fn(|v| std::array::from_fn(|c| f32_at(bytes, at + 12 * v + 4 * c)))
        })
        .collect();
    (bytes[..80].try_into().unwrap(), triangles)
}

/// An OBJ read back: its lines, `v`, `vn` and faces (0-based vertex and
/// normal indices).
struct Obj {
    lines: Vec<String>,
    v: Vec<[f32; 3]>,
    vn: Vec<[f32; 3]>,
    f: Vec<[(usize, usize); 3]>,
}

fn parse_obj(text: &str) -> Obj {
    let mut obj = Obj { lines: text.lines().map(String::from).collect(), v: vec![], vn: vec![], f: vec![] };
    let floats = |rest: &str| -> [f32; 3] {
        let v: Vec<f32> = rest.split_whitespace().map(|x| x.parse().unwrap()).collect();
        v.try_into().unwrap()
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("v ") {
            obj.v.push(floats(rest));
        } else if let Some(rest) = line.strip_prefix("vn ") {
            obj.vn.push(floats(rest));
        } else if let Some(rest) = line.strip_prefix("f ") {
            let corners: Vec<(usize, usize)> = rest
                .split_whitespace()
                .map(|c| {
                    let (v, n) = c.split_once("//").unwrap();
                    (v.parse::<usize>().unwrap() - 1, n.parse::<usize>().unwrap() - 1)
                })
                .collect();
            obj.f.push(corners.try_into().unwrap());
        }
    }
    obj
}

/// The glTF structural check: header, chunks, alignment, buffer views and
/// accessors within their buffers, POSITION bounds equal to the data, unit
/// normals, indices in range, asset version. Returns the JSON and the BIN
/// chunk.
fn check_glb(bytes: &[u8]) -> (Value, Vec<u8>) {
    assert_eq!(&bytes[0..4], b"glTF", "magic");
    assert_eq!(u32_at(bytes, 4), 2, "version");
    assert_eq!(u32_at(bytes, 8) as usize, bytes.len(), "total length");
    let json_len = u32_at(bytes, 12) as usize;
    assert_eq!(u32_at(bytes, 16), 0x4E4F_534A, "JSON chunk type");
    assert_eq!(json_len % 4, 0, "JSON chunk aligned");
    let json: Value = serde_json::from_slice(&bytes[20..20 + json_len]).expect("JSON chunk parses");
    let bin_at = 20 + json_len;
    let bin_len = u32_at(bytes, bin_at) as usize;
    assert_eq!(u32_at(bytes, bin_at + 4), 0x004E_4942, "BIN chunk type");
    assert_eq!(bin_len % 4, 0, "BIN chunk aligned");
    assert_eq!(bin_at + 8 + bin_len, bytes.len(), "the chunks fill the file");
    let bin = bytes[bin_at + 8..].to_vec();

    assert_eq!(json["asset"]["version"], "2.0");
    assert_eq!(json["asset"]["extras"]["space"], "LPS");
    assert_eq!(json["asset"]["extras"]["units"], "mm");
    let buffers = json["buffers"].as_array().unwrap();
    assert_eq!(buffers.len(), 1);
    let buffer_len = buffers[0]["byteLength"].as_u64().unwrap() as usize;
    assert!(buffer_len <= bin_len && bin_len - buffer_len < 4, "buffer {buffer_len} in a BIN chunk of {bin_len}");
    let views = json["bufferViews"].as_array().unwrap();
    for view in views {
        let (offset, len) =
            (view["byteOffset"].as_u64().unwrap() as usize, view["byteLength"].as_u64().unwrap() as usize);
        assert_eq!(offset % 4, 0, "view aligned");
        assert!(offset + len <= buffer_len, "view within the buffer");
    }
    for accessor in json["accessors"].as_array().unwrap() {
        let view = &views[accessor["bufferView"].as_u64().unwrap() as usize];
        let components = match accessor["type"].as_str().unwrap() {
            "SCALAR" => 1,
            "VEC3" => 3,
            other => panic!("unexpected accessor type {other}"),
        };
        assert!([5125, 5126].contains(&accessor["componentType"].as_u64().unwrap()));
        let offset = accessor.get("byteOffset").map_or(0, |o| o.as_u64().unwrap() as usize);
        let count = accessor["count"].as_u64().unwrap() as usize;
        assert!(count > 0);
        assert!(offset + count * components * 4 <= view["byteLength"].as_u64().unwrap() as usize, "accessor fits");
    }
    for mesh in json["meshes"].as_array().unwrap() {
        for primitive in mesh["primitives"].as_array().unwrap() {
            let position = &json["accessors"][primitive["attributes"]["POSITION"].as_u64().unwrap() as usize];
            let data = accessor_vec3(&json, &bin, primitive["attributes"]["POSITION"].as_u64().unwrap());
            for axis in 0..3 {
                let min = data.iter().map(|p| p[axis]).fold(f32::INFINITY, f32::min);
                let max = data.iter().map(|p| p[axis]).fold(f32::NEG_INFINITY, f32::max);
                assert_eq!(position["min"][axis].as_f64().unwrap() as f32, min, "POSITION min");
                assert_eq!(position["max"][axis].as_f64().unwrap() as f32, max, "POSITION max");
            }
            let normals = accessor_vec3(&json, &bin, primitive["attributes"]["NORMAL"].as_u64().unwrap());
            assert_eq!(normals.len(), data.len());
            for n in &normals {
                assert!((Vec3::from(*n).length() - 1.0).abs() < 1e-3, "unit normal {n:?}");
            }
            let indices = accessor_u32(&json, &bin, primitive["indices"].as_u64().unwrap());
            assert_eq!(indices.len() % 3, 0);
            assert!(indices.iter().all(|&i| (i as usize) < data.len()), "indices in range");
            let material = &json["materials"][primitive["material"].as_u64().unwrap() as usize];
            assert_eq!(material["pbrMetallicRoughness"]["baseColorFactor"].as_array().unwrap().len(), 4);
        }
    }
    (json, bin)
}

/// The bytes of accessor `index`.
fn accessor_bytes<'a>(json: &Value, bin: &'a [u8], index: u64) -> (&'a [u8], usize) {
    let accessor = &json["accessors"][index as usize];
    let view = &json["bufferViews"][accessor["bufferView"].as_u64().unwrap() as usize];
    let offset = view["byteOffset"].as_u64().unwrap() as usize;
    let len = view["byteLength"].as_u64().unwrap() as usize;
    (&bin[offset..offset + len], accessor["count"].as_u64().unwrap() as usize)
}

fn accessor_vec3(json: &Value, bin: &[u8], index: u64) -> Vec<[f32; 3]> {
    assert_eq!(json["accessors"][index as usize]["componentType"], 5126);
    let (bytes, count) = accessor_bytes(json, bin, index);
    (0..count).map(|v| std::array::from_fn(|c| f32_at(bytes, 12 * v + 4 * c))).collect()
}

fn accessor_u32(json: &Value, bin: &[u8], index: u64) -> Vec<u32> {
    assert_eq!(json["accessors"][index as usize]["componentType"], 5125);
    let (bytes, count) = accessor_bytes(json, bin, index);
    (0..count).map(|i| u32_at(bytes, 4 * i)).collect()
}

/// The POSITION data of the glTF node named `name`.
fn glb_positions(json: &Value, bin: &[u8], name: &str) -> Vec<[f32; 3]> {
    let node = json["nodes"].as_array().unwrap().iter().find(|n| n["name"] == name).expect("node");
    let mesh = &json["meshes"][node["mesh"].as_u64().unwrap() as usize];
    accessor_vec3(json, bin, mesh["primitives"][0]["attributes"]["POSITION"].as_u64().unwrap())
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn raw_options() -> MeshOptions {
    MeshOptions { smoothing_iterations: 0, decimate: None, step: 1 }
}

#[test]
fn stl_obj_and_glb_vertices_lie_on_the_label_boundary_in_patient_mm() {
    let labels = scene_labels();
    let parts = class_parts(&labels, &[1, 2, 3], &raw_options());
    let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["artery", "aorta"], "the absent vein is skipped");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("meshes");
    let written = write_class_files(&out, &parts, true, true).unwrap();
    assert_eq!(written, ["artery.stl", "artery.obj", "aorta.stl", "aorta.obj"].map(|f| out.join(f)));
    let glb = dir.path().join("scene.glb");
    write_glb(&glb, &parts).unwrap();
    let (json, bin) = check_glb(&read(&glb));

    for (part, class) in parts.iter().zip([1u8, 3]) {
        let mesh = class_surface(&labels, class, &SurfaceOptions { smoothing_iterations: 0, step: 1 });
        assert_eq!(part.mesh, mesh, "the part is the class surface");
        assert!(mesh.triangle_count() > 100);
        let check = |what: &str, p: [f32; 3]| {
            assert!(on_boundary(&labels, class, p), "{what} vertex {p:?} of {} is off the boundary", part.name);
        };

        let (header, triangles) = parse_stl(&read(&out.join(format!("{}.stl", part.name))));
        assert!(header.starts_with(format!("Vasa {} SPACE=LPS", part.name).as_bytes()));
        assert_eq!(triangles.len() * 3, mesh.indices.len(), "STL vertex count");
        for (t, corners) in triangles.iter().zip(mesh.indices.chunks_exact(3)) {
            for (v, &i) in t[1..].iter().zip(corners) {
                assert_eq!(*v, mesh.positions[i as usize]);
                check("STL", *v);
            }
        }

        let obj = parse_obj(&String::from_utf8(read(&out.join(format!("{}.obj", part.name)))).unwrap());
        assert_eq!(obj.lines[0], "# SPACE=LPS");
        assert!(obj.lines.iter().any(|l| l == &format!("o {}", part.name)));
        assert_eq!(obj.v.len(), mesh.positions.len(), "OBJ vertex count");
        assert_eq!(obj.vn.len(), mesh.positions.len());
        assert_eq!(obj.f.len(), mesh.triangle_count());
        assert_eq!(obj.v, mesh.positions);
        obj.v.iter().for_each(|v| check("OBJ", *v));
        for face in &obj.f {
            assert!(face.iter().all(|&(v, n)| v == n && v < obj.v.len()));
        }

        let positions = glb_positions(&json, &bin, &part.name);
        assert_eq!(positions.len(), mesh.positions.len(), "glTF vertex count");
        assert_eq!(positions, mesh.positions);
        positions.iter().for_each(|v| check("glTF", *v));
    }
}

#[test]
fn a_smoothed_decimated_glb_passes_the_structural_check() {
    let labels = scene_labels();
    let options = MeshOptions { decimate: Some(0.5), ..MeshOptions::default() };
    let parts = class_parts(&labels, &[1, 3], &options);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("classes.glb");
    write_glb(&path, &parts).unwrap();
    let (json, _) = check_glb(&read(&path));
    assert_eq!(json["asset"]["generator"], "Vasa");
    assert_eq!(json["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(json["scenes"][0]["nodes"], serde_json::json!([0, 1]));
    // The artery's sRGB red (220, 50, 47), linear.
    let colour = &json["materials"][0]["pbrMetallicRoughness"]["baseColorFactor"];
    assert!((colour[0].as_f64().unwrap() - 0.7157).abs() < 1e-3, "{colour}");
    assert_eq!(colour[3], 1.0);
    assert_eq!(json["materials"][0]["alphaMode"], "OPAQUE");
    // Nothing but the file is left in the folder (atomic writes clean up).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn the_stl_header_names_the_frame_and_the_count_matches() {
    let labels = scene_labels();
    let parts = class_parts(&labels, &[3], &MeshOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aorta.stl");
    write_stl(&path, &parts[0].mesh, "aorta").unwrap();
    let bytes = read(&path);
    let header = String::from_utf8_lossy(&bytes[..80]).into_owned();
    assert!(header.contains("SPACE=LPS") && header.contains("UNITS=mm"), "{header}");
    assert!(!header.starts_with("solid"));
    assert_eq!(u32_at(&bytes, 80) as usize, parts[0].mesh.triangle_count());
    let (_, triangles) = parse_stl(&bytes);
    // Facet normals are unit and agree with the outward winding.
    for t in &triangles {
        let [n, a, b, c] = t.map(Vec3::from);
        let area = (b - a).cross(c - a);
        assert!((n.length() - 1.0).abs() < 1e-4 && n.dot(area.normalize()) > 0.99);
    }
}

#[test]
fn decimating_a_smoothed_ball_keeps_a_quarter_of_it_and_its_volume() {
    let r = 12.0;
    let labels = ball_labels(r);
    let mesh = class_surface(&labels, 2, &SurfaceOptions::default());
    let small = decimate(&mesh, 0.25);
    let ratio = small.triangle_count() as f64 / mesh.triangle_count() as f64;
    assert!((0.1..0.5).contains(&ratio), "kept {ratio} of the triangles");
    let volume = small.enclosed_volume() / mesh.enclosed_volume();
    assert!((volume - 1.0).abs() < 0.1, "volume ratio {volume}");
    assert_eq!(small.normals.len(), small.positions.len());
    assert!(small.indices.iter().all(|&i| (i as usize) < small.positions.len()));
    let centre = DVec3::splat(0.8 * 19.5);
    for (p, n) in small.positions.iter().zip(&small.normals) {
        let d = DVec3::from(Vec3::from(*p)) - centre;
        assert!((d.length() - r).abs() < 1.5, "vertex {} mm from the centre", d.length());
        assert!(d.normalize().dot(DVec3::from(Vec3::from(*n))) > 0.3, "normal points outwards");
    }
    // Through the options too.
    let parts = class_parts(&labels, &[2], &MeshOptions { decimate: Some(0.25), ..MeshOptions::default() });
    assert_eq!(parts[0].mesh, small);
}

fn plan() -> PlanFile {
    PlanFile {
        format: vasa_plan::plan_file::FORMAT.into(),
        version: vasa_plan::plan_file::VERSION,
        scan: "test".into(),
        lesion: Some(LesionFile { centre_mm: [-30.0, 30.0, 135.0], diameter_mm: 8.0 }),
        lesion_painted: false,
        applicators: vec![ApplicatorFile {
            entry_mm: [20.0, -40.0, 150.0],
            target_mm: [-30.0, 30.0, 135.0],
            setting: ZoneTable::bundled().entries[1].clone(),
        }],
        margin_mm: 5.0,
        path_safety_mm: 3.0,
        rulers: vec![],
    }
}

#[test]
fn the_plan_becomes_a_lesion_an_applicator_and_its_zone_in_one_scene() {
    let plan = plan();
    let parts = plan_parts(&plan);
    let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["lesion", "applicator 1", "zone 1"]);
    let points =
        |part: &ScenePart| -> Vec<DVec3> { part.mesh.positions.iter().map(|p| DVec3::from(Vec3::from(*p))).collect() };
    for part in &parts {
        assert!(part.mesh.enclosed_volume() > 0.0, "{} is closed and outward", part.name);
    }

    let centre = DVec3::from_array(plan.lesion.as_ref().unwrap().centre_mm);
    for p in points(&parts[0]) {
        assert!(((p - centre).length() - 4.0).abs() < 1e-3, "lesion vertex off its sphere");
    }

    let a = &plan.applicators[0];
    let (entry, target) = (DVec3::from_array(a.entry_mm), DVec3::from_array(a.target_mm));
    let axis = (target - entry).normalize();
    for p in points(&parts[1]) {
        let along = (p - entry).dot(axis);
        let across = (p - entry - axis * along).length();
        assert!((-1e-3..=(target - entry).length() + 1e-3).contains(&along), "applicator vertex beyond its ends");
        assert!(across <= 0.75 + 1e-3, "applicator vertex {across} mm from its axis");
    }
    assert_eq!(parts[1].opacity, 1.0);

    let zone = Zone::along(entry, target, a.setting.length_mm, a.setting.width_mm);
    for p in points(&parts[2]) {
        let (d, _) = zone.signed_distance(p);
        assert!(d.abs() < 0.1, "zone vertex {d} mm off the spheroid");
    }
    assert!(parts[2].opacity < 1.0);
    let zone_volume = std::f64::consts::PI / 6.0 * zone.length_mm * zone.width_mm.powi(2);
    assert!((parts[2].mesh.enclosed_volume() / zone_volume - 1.0).abs() < 0.05);

    // A painted lesion lives in the labels, not as a sphere.
    let painted = PlanFile { lesion_painted: true, ..plan.clone() };
    assert_eq!(plan_parts(&painted).len(), 2);

    // The whole scene: classes and plan in one .glb.
    let mut scene = class_parts(&scene_labels(), &[1, 2, 3], &MeshOptions::default());
    scene.extend(parts);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scene.glb");
    write_glb(&path, &scene).unwrap();
    let (json, bin) = check_glb(&read(&path));
    let node_names: Vec<&str> = json["nodes"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap()).collect();
    assert_eq!(node_names, ["artery", "aorta", "lesion", "applicator 1", "zone 1"]);
    let zone_material = &json["materials"][4];
    assert_eq!(zone_material["alphaMode"], "BLEND");
    let alpha = zone_material["pbrMetallicRoughness"]["baseColorFactor"][3].as_f64().unwrap();
    assert!((alpha - 0.35).abs() < 1e-6);
    for p in glb_positions(&json, &bin, "zone 1") {
        assert!(zone.signed_distance(DVec3::from(Vec3::from(p))).0.abs() < 0.1);
    }
}

#[test]
fn errors_name_the_file_and_empty_meshes_do_not_panic() {
    let labels = scene_labels();
    let mesh = class_surface(&labels, 1, &SurfaceOptions::default());
    let e = write_stl(Path::new("/nonexistent/x.stl"), &mesh, "artery").unwrap_err().to_string();
    assert!(e.contains("/nonexistent/x.stl"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let empty = ScenePart { name: "vein".into(), mesh: Mesh::default(), color: [0, 0, 255], opacity: 1.0 };
    let glb = dir.path().join("empty.glb");
    let e = write_glb(&glb, std::slice::from_ref(&empty)).unwrap_err().to_string();
    assert!(e.contains(&*glb.to_string_lossy()) && e.contains("empty"), "{e}");
    let e = write_glb(&glb, &[]).unwrap_err().to_string();
    assert!(e.contains("empty.glb"), "{e}");
    assert!(!glb.exists());

    // Empty meshes write valid, empty STL and OBJ files, and no class files.
    let stl = dir.path().join("vein.stl");
    write_stl(&stl, &empty.mesh, "vein").unwrap();
    assert!(parse_stl(&read(&stl)).1.is_empty());
    write_obj(&dir.path().join("vein.obj"), &empty).unwrap();
    assert!(write_class_files(&dir.path().join("none"), &[empty], true, true).unwrap().is_empty());
    assert!(class_parts(&labels, &[2, 7], &MeshOptions::default()).is_empty());
    assert!(decimate(&Mesh::default(), 0.25).is_empty());

    // A broken mesh is refused, naming the file and the part.
    let broken = Mesh { indices: vec![0, 1, 10_000], ..mesh.clone() };
    let path = dir.path().join("broken.obj");
    let part = ScenePart { name: "artery".into(), mesh: broken, color: [255, 0, 0], opacity: 1.0 };
    let e = write_obj(&path, &part).unwrap_err().to_string();
    assert!(e.contains("broken.obj") && e.contains("artery") && e.contains("10000"), "{e}");
    assert!(write_glb(&dir.path().join("broken.glb"), &[part]).is_err());
    assert!(!path.exists());
    let nan = Mesh { positions: vec![[f32::NAN; 3]; 3], normals: vec![[0.0; 3]; 3], indices: vec![0, 1, 2] };
    assert!(write_stl(&dir.path().join("nan.stl"), &nan, "nan").is_err());
}

#[test]
fn class_files_are_named_by_class_in_a_new_folder() {
    let labels = scene_labels();
    let mut parts = class_parts(&labels, &[1, 3], &MeshOptions { step: 2, ..MeshOptions::default() });
    parts.extend(plan_parts(&plan()));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a").join("b");
    let written = write_class_files(&out, &parts, true, false).unwrap();
    let names: Vec<String> = written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["artery.stl", "aorta.stl", "lesion.stl", "applicator-1.stl", "zone-1.stl"]);
    let mut on_disk: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    on_disk.sort();
    let mut expected = names.clone();
    expected.sort();
    assert_eq!(on_disk, expected, "nothing else (no temporary files) is left");
    for (path, part) in written.iter().zip(&parts) {
        assert_eq!(parse_stl(&read(path)).1.len(), part.mesh.triangle_count());
    }
}

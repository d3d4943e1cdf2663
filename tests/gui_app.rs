//! The real viewer UI driven through egui_kittest (headless wgpu, Mesa's
//! software Vulkan in CI): open the sample, step slices, change window
//! presets, extract vessels from a small phantom and see the legend fill,
//! cancel a run, open a corrupt file and see the error, drop labels on the
//! scan, save them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use vasa::gui::extraction::{RAW_LAYER, VESSELS_LAYER};
use vasa::gui::{Source, VasaApp};
use vasa::settings::Recent;
use vasa_inference::phantom::Phase;
use vasa_inference::testing::coarse_phantom;
use vasa_scan::nifti;

fn harness(path: Option<PathBuf>, config: &Path) -> Harness<'static, VasaApp> {
    let recent = Recent::load(&config.join("recent.json"));
    let autosave = config.join("autosave");
    Harness::builder().with_size(egui::vec2(1280.0, 800.0)).wgpu().build_eframe(move |cc| {
        let mut app = VasaApp::new(&cc.egui_ctx, cc.wgpu_render_state.clone(), path, recent);
        // The test's own autosave folder: never the user's, never another test's.
        app.autosave_dir = Some(autosave);
        app.offer_restore();
        app
    })
}

/// Steps frames until `done` holds (the workers run in real time).
fn wait_until(h: &mut Harness<'_, VasaApp>, what: &str, done: impl Fn(&VasaApp) -> bool) -> usize {
    let start = Instant::now();
    let mut frames = 0;
    while !done(h.state()) {
        assert!(start.elapsed() < Duration::from_secs(300), "timed out waiting for {what}");
        h.step();
        frames += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    h.step();
    frames
}

fn idle(app: &VasaApp) -> bool {
    app.doc.is_some() && !app.is_busy()
}

#[test]
fn opens_the_sample_steps_slices_and_changes_window_presets() {
    let cfg = tempfile::tempdir().unwrap();
    let mut h = harness(None, cfg.path());
    wait_until(&mut h, "the sample", idle);
    h.get_by_label_contains("sample chest phantom");
    // The sample comes with its exact labels: the legend shows their volumes.
    let reference = h.state().doc.as_ref().unwrap().layers.shown_layer().unwrap().clone();
    let (artery_ml, pieces) = reference.figures(1);
    assert!(artery_ml > 10.0 && pieces >= 1, "{artery_ml} mL in {pieces}");
    h.get_by_label(&format!("{artery_ml:7.1} mL"));

    // Arrow up over the axial view: one slice (1.5 mm) towards superior.
    let axial = h.state().views.as_ref().unwrap().mpr.rects[0];
    let z0 = h.state().views.as_ref().unwrap().mpr.cursor.z;
    h.hover_at(axial.center());
    h.step();
    h.key_press(egui::Key::ArrowUp);
    h.step();
    let z1 = h.state().views.as_ref().unwrap().mpr.cursor.z;
    assert!((z1 - z0 - 1.5).abs() < 1e-6, "{z0} → {z1}");
    // The wheel steps too.
    h.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Line,
        delta: egui::vec2(0.0, -1.0),
        phase: egui::TouchPhase::Move,
        modifiers: egui::Modifiers::NONE,
        source: egui::MouseWheelSource::Wheel,
    });
    h.step();
    let z2 = h.state().views.as_ref().unwrap().mpr.cursor.z;
    assert!((z2 - z1 + 1.5).abs() < 1e-6, "{z1} → {z2}");

    // Presets: number keys and the buttons.
    h.key_press(egui::Key::Num3);
    h.step();
    assert_eq!(h.state().views.as_ref().unwrap().mpr.window, (300.0, 700.0));
    h.get_by_label("1 Lung").click();
    h.step();
    assert_eq!(h.state().views.as_ref().unwrap().mpr.window, (-600.0, 1500.0));

    // A click in the coronal view moves the crosshair to where it points.
    let coronal = h.state().views.as_ref().unwrap().mpr.rects[1];
    let x_before = h.state().views.as_ref().unwrap().mpr.cursor.x;
    click(&mut h, coronal.center() + egui::vec2(30.0, 0.0));
    let x_after = h.state().views.as_ref().unwrap().mpr.cursor.x;
    assert!(x_after > x_before + 1.0, "right of the coronal view is the patient's left (+x): {x_before} → {x_after}");

    // The status bar reads out what the pointer is over.
    h.hover_at(axial.center());
    h.run();
    let probe = h.state().views.as_ref().unwrap().mpr.probe.expect("a probe over the axial view");
    h.get_by_label_contains(&format!("{} HU", probe.hu));

    // Right-drag changes window/level, Ctrl+wheel zooms, middle-drag pans, R resets.
    let before = h.state().views.as_ref().unwrap().mpr.window;
    drag(&mut h, egui::PointerButton::Secondary, axial.center(), egui::vec2(40.0, 20.0));
    let after = h.state().views.as_ref().unwrap().mpr.window;
    assert!(after.0 > before.0 && after.1 > before.1, "{before:?} → {after:?}");
    h.hover_at(axial.center());
    h.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Line,
        delta: egui::vec2(0.0, 3.0),
        phase: egui::TouchPhase::Move,
        modifiers: egui::Modifiers::CTRL,
        source: egui::MouseWheelSource::Wheel,
    });
    h.step();
    let zoom = h.state().views.as_ref().unwrap().mpr.cameras[0].zoom;
    assert!(zoom > 1.05, "Ctrl+wheel zooms in: {zoom}");
    let z_now = h.state().views.as_ref().unwrap().mpr.cursor.z;
    assert!((z_now - z2).abs() < 1e-9, "Ctrl+wheel must not step slices");
    drag(&mut h, egui::PointerButton::Middle, axial.center(), egui::vec2(30.0, 0.0));
    assert!(h.state().views.as_ref().unwrap().mpr.cameras[0].pan[0] < 0.0, "the image follows the pointer");
    h.key_press(egui::Key::R);
    h.step();
    let m = &h.state().views.as_ref().unwrap().mpr;
    assert_eq!((m.cameras[0].zoom, m.cameras[0].pan), (1.0, [0.0, 0.0]));
    assert_eq!(m.window, (40.0, 400.0));

    // F maximises the view under the pointer, F again restores the grid.
    h.hover_at(axial.center());
    h.step();
    h.key_press(egui::Key::F);
    h.step();
    assert_eq!(h.state().views.as_ref().unwrap().mpr.maximised, Some(0));
    h.key_press(egui::Key::F);
    h.step();
    assert_eq!(h.state().views.as_ref().unwrap().mpr.maximised, None);

    // The slices and the 3D view are drawn on the GPU: the axial viewport
    // shows an image, and the 3D view shows the surfaces in colour.
    wait_until(&mut h, "surfaces", idle);
    let image = h.render().expect("rendering works");
    let views = h.state().views.as_ref().unwrap();
    let greys = distinct_in(&image, views.mpr.rects[0], |p| p[0] == p[1] && p[1] == p[2]);
    assert!(greys > 50, "the axial view shows {greys} grey levels");
    let coloured = distinct_in(&image, views.mpr.rects[3], |p| p[0].abs_diff(p[2]) > 60);
    assert!(coloured > 20, "the 3D view shows {coloured} distinct coloured pixels");
    assert!(!views.view3d.meshes.is_empty());

    // A click on the surfaces in the 3D view moves the crosshair onto a labelled voxel.
    let view3d = views.mpr.rects[3];
    let before = views.mpr.cursor;
    let target = coloured_pixel_nearest(&image, view3d).expect("the 3D view shows a surface");
    click(&mut h, target);
    let doc = h.state().doc.as_ref().unwrap();
    let after = h.state().views.as_ref().unwrap().mpr.cursor;
    assert!((after - before).length() > 1.0, "the crosshair moved: {before} → {after}");
    let labels = &doc.layers.shown_layer().unwrap().labels;
    let v = labels.geometry.world_to_voxel(after).round();
    let near = (-2..=2).any(|d: i32| {
        (-2..=2).any(|e: i32| {
            (-2..=2).any(|f: i32| {
                let (i, j, k) = (v.x as i64 + d as i64, v.y as i64 + e as i64, v.z as i64 + f as i64);
                i >= 0 && j >= 0 && k >= 0 && labels.get(i as usize, j as usize, k as usize).is_some_and(|&l| l != 0)
            })
        })
    });
    assert!(near, "picked point {after} is on a vessel surface");
}

/// A press, a move by `by` and a release of `button` starting at `at`.
fn drag(h: &mut Harness<'_, VasaApp>, button: egui::PointerButton, at: egui::Pos2, by: egui::Vec2) {
    let press = |pos, pressed| egui::Event::PointerButton { pos, button, pressed, modifiers: egui::Modifiers::NONE };
    h.hover_at(at);
    h.step();
    h.event(press(at, true));
    h.step();
    for n in 1..=4 {
        h.hover_at(at + by * (n as f32 / 4.0));
        h.step();
    }
    h.event(press(at + by, false));
    h.step();
}

/// A primary click at `at`.
fn click(h: &mut Harness<'_, VasaApp>, at: egui::Pos2) {
    h.hover_at(at);
    h.step();
    h.drag_at(at);
    h.drop_at(at);
    h.step();
    h.step();
}

/// Number of distinct pixel values in `rect` (points = pixels here) that pass `keep`.
/// The surface-coloured pixel of `rect` nearest its centre (away from the
/// view's edges and its notes), where a click lands on a vessel surface
/// whatever the sample's anatomy.
fn coloured_pixel_nearest(image: &image::RgbaImage, rect: egui::Rect) -> Option<egui::Pos2> {
    let c = rect.center();
    let mut best: Option<(f32, egui::Pos2)> = None;
    for y in rect.top() as u32 + 30..rect.bottom() as u32 - 30 {
        for x in rect.left() as u32 + 30..rect.right() as u32 - 30 {
            let p = image.get_pixel(x, y).0;
            // Not the light-blue crosshair marker (90, 200, 255).
            let marker = p[0] < 140 && p[1] > 170 && p[2] > 200;
            if p[0].abs_diff(p[2]) > 60 && !marker {
                let q = egui::pos2(x as f32 + 0.5, y as f32 + 0.5);
                let d = q.distance(c);
                if best.is_none_or(|(b, _)| d < b) {
                    best = Some((d, q));
                }
            }
        }
    }
    best.map(|(_, q)| q)
}

fn distinct_in(image: &image::RgbaImage, rect: egui::Rect, keep: impl Fn(&[u8; 4]) -> bool) -> usize {
    let mut seen = std::collections::HashSet::new();
    for y in rect.top() as u32 + 20..rect.bottom() as u32 - 20 {
        for x in rect.left() as u32 + 20..rect.right() as u32 - 20 {
            let p = image.get_pixel(x, y).0;
            if keep(&p) {
                seen.insert(p);
            }
        }
    }
    seen.len()
}

#[test]
fn extraction_fills_the_legend_runs_in_the_background_and_can_be_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let scan = coarse_phantom(7, Phase::Ctpa);
    let path = dir.path().join("phantom.nii.gz");
    nifti::write_nifti(&path, &scan.ct).unwrap();
    let mut h = harness(Some(path.clone()), dir.path());
    wait_until(&mut h, "the phantom", idle);
    assert!(h.state().doc.as_ref().unwrap().layers.layers.is_empty());

    h.get_by_label("Extract vessels").click();
    h.run_steps(2);
    assert!(h.state().is_extracting());
    // A progress bar names the job and its stage, with a Cancel button.
    h.get_by_label_contains("Extracting vessels: ");
    h.get_by_label("Cancel");
    // The window keeps drawing while the worker runs.
    let frames = wait_until(&mut h, "the extraction", |a| !a.is_extracting());
    assert!(frames > 10, "only {frames} frames drawn during the extraction");
    assert!(h.state().frame_stats.count() > 10);
    let doc = h.state().doc.as_ref().unwrap();
    let names: Vec<&str> = doc.layers.layers.iter().map(|l| l.name.as_str()).collect();
    assert!(names.contains(&VESSELS_LAYER) && names.contains(&RAW_LAYER), "{names:?}");
    let vessels = doc.layers.shown_layer().unwrap().clone();
    assert_eq!(vessels.name, VESSELS_LAYER);
    for class in 1..=3 {
        assert!(vessels.figures(class).0 > 1.0, "class {class}: {:?}", vessels.figures(class));
    }
    // The legend shows the figures.
    let (aorta_ml, aorta_pieces) = vessels.figures(3);
    h.get_by_label(&format!("{aorta_ml:7.1} mL"));
    assert!(h.query_all_by_label(&format!("{aorta_pieces:5}")).count() >= 1);
    // The notice says which contrast phase the refinement read from the scan.
    h.get_by_label_contains("vessels extracted in");
    h.get_by_label_contains(" s (refined as ");

    // A second run, cancelled: the first result stays.
    h.get_by_label("Extract vessels").click();
    h.run_steps(2);
    assert!(h.state().is_extracting());
    h.get_by_label("Cancel").click();
    wait_until(&mut h, "the cancellation", |a| !a.is_extracting());
    h.get_by_label_contains("extraction cancelled");
    let shown = h.state().doc.as_ref().unwrap().layers.shown_layer().unwrap();
    assert_eq!(shown.id, vessels.id);

    // Closing the window with unsaved labels asks first.
    request_close(&mut h);
    assert!(h.state().asking_to_quit);
    h.get_by_label("Labels not saved");
    h.get_by_label("Keep working").click();
    h.run_steps(2);
    assert!(!h.state().asking_to_quit);

    // Save the labels (what File > Save labels does once a file is picked).
    let out = dir.path().join("vessels.nii.gz");
    let ctx = h.ctx.clone();
    h.state_mut().save_labels(&ctx, out.clone());
    wait_until(&mut h, "saving", |a| !a.is_busy());
    let saved = nifti::read_labels(&out).unwrap();
    assert!(saved.same_grid(&scan.ct));
    assert_eq!(saved.data(), vessels.labels.data());
    assert!(!h.state().doc.as_ref().unwrap().layers.shown_layer().unwrap().unsaved);
    h.get_by_label_contains("saved labels to");
    // The raw layer is still unsaved: opening another scan keeps it in the
    // autosave folder instead of dropping it.
    assert_eq!(h.state().unsaved_work(), vec![RAW_LAYER.to_string()]);
    let raw = h.state().doc.as_ref().unwrap().layers.layers.iter().find(|l| l.name == RAW_LAYER).unwrap().clone();
    let autosave = dir.path().join("autosave");
    h.state_mut().autosave_dir = Some(autosave.clone());
    let ctx = h.ctx.clone();
    h.state_mut().open(&ctx, Source::Sample);
    wait_until(&mut h, "the sample", |a| idle(a) && a.doc.as_ref().unwrap().scan.name.contains("sample"));
    // Files only: the crash-safe session (a folder) may have been written
    // too, when the run took over a minute.
    let kept: Vec<PathBuf> =
        std::fs::read_dir(&autosave).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].to_string_lossy().contains("network"), "{kept:?}");
    assert_eq!(nifti::read_labels(&kept[0]).unwrap().data(), raw.labels.data());
    h.get_by_label_contains("unsaved labels of the previous scan kept in");
}

/// The window manager's close button.
fn request_close(h: &mut Harness<'_, VasaApp>) {
    h.input_mut().viewports.entry(egui::ViewportId::ROOT).or_default().events.push(egui::ViewportEvent::Close);
    h.run_steps(2);
}

#[test]
fn a_corrupt_file_shows_an_error_and_the_viewer_keeps_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.nii.gz");
    std::fs::write(&bad, b"\x1f\x8b this is not a gzip stream").unwrap();
    let mut h = harness(None, dir.path());
    wait_until(&mut h, "the sample", idle);

    // File ▸ type the path ▸ Open.
    h.get_by_label("File").click();
    h.run_steps(3);
    h.get_by_role(Role::TextInput).focus();
    h.run_steps(2);
    h.get_by_role(Role::TextInput).type_text(bad.to_str().unwrap());
    h.run_steps(2);
    assert_eq!(h.get_by_role(Role::TextInput).value().as_deref(), bad.to_str());
    h.get_by_label("Open").click();
    h.run_steps(2);
    wait_until(&mut h, "the failed load", |a| !a.is_loading());
    h.get_by_label_contains("broken.nii.gz");
    assert!(h.state().notices.errors().any(|n| n.text.contains("broken.nii.gz")));
    // The sample is still open, and the message can be dismissed.
    assert!(h.state().doc.as_ref().unwrap().scan.name.contains("sample"));
    h.get_by_label("Dismiss").click();
    h.step();
    assert!(h.state().notices.list.is_empty());

    // Labels on another grid are refused, saying how they differ.
    let other = dir.path().join("other-labels.nii.gz");
    let small = vasa_scan::Volume::filled([8, 8, 8], 1u8, Default::default());
    nifti::write_nifti(&other, &small).unwrap();
    let ctx = h.ctx.clone();
    h.state_mut().open_labels(&ctx, other);
    wait_until(&mut h, "the labels", |a| !a.is_busy());
    let e = h.state().notices.errors().last().expect("an error").text.clone();
    assert!(e.contains("other-labels.nii.gz") && e.contains("not on the scan's grid"), "{e}");

    // Dropping a label file of the scan's grid opens it as a layer; a
    // nonexistent scan path gives an error, not a crash.
    let doc = h.state().doc.as_ref().unwrap();
    let truth = doc.layers.shown_layer().unwrap().labels.clone();
    let mine = dir.path().join("mine.nii.gz");
    nifti::write_nifti(&mine, &*truth).unwrap();
    h.input_mut().dropped_files.push(std::sync::Arc::new(Dropped(mine)));
    h.step();
    wait_until(&mut h, "the dropped labels", |a| !a.is_busy());
    let shown = h.state().doc.as_ref().unwrap().layers.shown_layer().unwrap();
    assert_eq!(shown.name, "mine.nii.gz");
    assert_eq!(shown.labels.data(), truth.data());
    let ctx = h.ctx.clone();
    h.state_mut().open(&ctx, Source::Path(dir.path().join("nowhere")));
    wait_until(&mut h, "the failed load", |a| !a.is_loading());
    assert!(h.state().notices.errors().any(|n| n.text.contains("nowhere") && n.text.contains("no such file")));
}

/// A dropped file, as the window system hands it over.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn a_folder_with_two_series_offers_a_picker_with_thumbnails() {
    use vasa_scan::dicom::testing::{TestSeries, write_test_series};
    let dir = tempfile::tempdir().unwrap();
    let big = TestSeries { series_uid: "1.2.3.1".into(), slices: 9, description: "big".into(), ..Default::default() };
    let small = TestSeries {
        series_uid: "1.2.3.2".into(),
        slices: 4,
        cols: 10,
        rows: 8,
        description: "small".into(),
        ..Default::default()
    };
    write_test_series(&dir.path().join("study/a"), &big).unwrap();
    write_test_series(&dir.path().join("study/b"), &small).unwrap();
    let mut h = harness(None, dir.path());
    wait_until(&mut h, "the sample", idle);
    let ctx = h.ctx.clone();
    h.state_mut().open(&ctx, Source::Path(dir.path().join("study")));
    wait_until(&mut h, "the series list", |a| !a.is_loading());
    h.run_steps(2);
    assert!(h.state().picking_series().is_some());
    h.get_by_label("Choose a series");
    h.get_by_label_contains("\"small\" — 4 slices of 10×8");
    // Both have a thumbnail: no "no preview" placeholder.
    assert!(h.query_by_label("no preview").is_none());
    let buttons: Vec<_> = h.get_all_by_label("Open").collect();
    assert_eq!(buttons.len(), 2);
    // Series are listed largest first: the second is the small one.
    buttons[1].click();
    h.step();
    wait_until(&mut h, "the chosen series", idle);
    let doc = h.state().doc.as_ref().unwrap();
    assert_eq!(doc.scan.ct.dims(), [10, 8, 4]);
    assert!(doc.scan.name.contains("small"), "{}", doc.scan.name);
    // It went to the recent-files list.
    assert_eq!(h.state().recent.paths.first().and_then(|p| p.file_name()), Some("study".as_ref()));
}

/// The shown layer's pulmonary trunk: its artery voxel farthest from the
/// artery's outside (patient mm).
fn pulmonary_trunk(h: &Harness<'_, VasaApp>) -> glam::DVec3 {
    let doc = h.state().doc.as_ref().unwrap();
    let labels = &doc.layers.shown_layer().unwrap().labels;
    let widest = vasa_scan::distance::distance_where_mm(labels, |&l| l != 1);
    let n = (0..labels.len())
        .filter(|&n| labels.data()[n] == 1)
        .max_by(|&a, &b| widest.data()[a].total_cmp(&widest.data()[b]))
        .unwrap();
    let c = labels.coords(n);
    labels.geometry.voxel_to_world(glam::DVec3::new(c[0] as f64, c[1] as f64, c[2] as f64))
}

/// The legend's volume of `class` in the shown layer (mL).
fn legend_ml(h: &Harness<'_, VasaApp>, class: u8) -> f64 {
    h.state().doc.as_ref().unwrap().layers.shown_layer().unwrap().figures(class).0
}

#[test]
fn paint_undo_redo_and_relabel_a_branch_on_the_sample_and_the_legend_follows() {
    let cfg = tempfile::tempdir().unwrap();
    let mut h = harness(None, cfg.path());
    wait_until(&mut h, "the sample", idle);
    let axial = h.state().views.as_ref().unwrap().mpr.rects[0];
    // Somewhere in the axial view with no label within 8 mm: the brush goes there.
    let empty = {
        let app = h.state();
        let (doc, mpr) = (app.doc.as_ref().unwrap(), &app.views.as_ref().unwrap().mpr);
        let labels = &doc.layers.shown_layer().unwrap().labels;
        let mapping = mpr.mapping(&doc.scan.ct, 0, axial);
        let clear = |p: glam::DVec3| {
            (-8..=8).all(|d| {
                (-8..=8).all(|e| {
                    let q = p + glam::DVec3::new(d as f64, e as f64, 0.0);
                    let v = labels.geometry.world_to_voxel(q).round();
                    v.min_element() >= 0.0
                        && labels.get(v.x as usize, v.y as usize, v.z as usize).is_some_and(|&l| l == 0)
                })
            })
        };
        let mut found = None;
        for y in (axial.top() as i32 + 60..axial.bottom() as i32 - 60).step_by(10) {
            for x in (axial.left() as i32 + 60..axial.right() as i32 - 100).step_by(10) {
                let pos = egui::pos2(x as f32, y as f32);
                if found.is_none()
                    && clear(mapping.to_patient(pos))
                    && clear(mapping.to_patient(pos + egui::vec2(40.0, 0.0)))
                {
                    found = Some(pos);
                }
            }
        }
        found.expect("an unlabelled spot in the axial view")
    };
    let artery = legend_ml(&h, 1);
    let pixel = |image: &image::RgbaImage, p: egui::Pos2| image.get_pixel(p.x as u32, p.y as u32).0;
    let before = h.render().expect("rendering works");

    // B, then a drag: one stroke of artery, on screen and in the legend.
    h.hover_at(empty);
    h.step();
    h.key_press(egui::Key::B);
    h.step();
    drag(&mut h, egui::PointerButton::Primary, empty, egui::vec2(40.0, 0.0));
    h.step();
    let painted = legend_ml(&h, 1);
    assert!(painted > artery + 0.05, "the stroke added artery: {artery} → {painted} mL");
    let doc = h.state().doc.as_ref().unwrap();
    assert_eq!(doc.history.undo_len(), 1, "the drag is one undo step");
    assert!(matches!(doc.layers.shown_layer().unwrap().log[..], [vasa_edit::EditOp::Stroke { .. }]));
    h.get_by_label("Undo paint stroke artery");
    let after = h.render().expect("rendering works");
    let mid = empty + egui::vec2(20.0, 0.0);
    assert_ne!(pixel(&before, mid), pixel(&after, mid), "the painted voxels are drawn");

    // Ctrl+Z takes it back, Ctrl+Shift+Z brings it again.
    h.key_combination_modifiers(egui::Modifiers::COMMAND, &[egui::Key::Z]);
    h.step();
    assert!((legend_ml(&h, 1) - artery).abs() < 1e-9, "undone");
    let undone = h.render().expect("rendering works");
    assert_eq!(pixel(&before, mid), pixel(&undone, mid), "and drawn as before");
    h.key_combination_modifiers(egui::Modifiers::COMMAND | egui::Modifiers::SHIFT, &[egui::Key::Z]);
    h.step();
    assert!((legend_ml(&h, 1) - painted).abs() < 1e-9, "redone");

    // L, a click on the pulmonary trunk: a preview; Enter makes it. The
    // artery tree becomes vein; the stroke (its own piece) stays artery.
    let (trunk, vein) = (pulmonary_trunk(&h), legend_ml(&h, 2));
    h.state_mut().views.as_mut().unwrap().mpr.cursor = trunk;
    h.step();
    let at = {
        let app = h.state();
        app.views.as_ref().unwrap().mpr.mapping(&app.doc.as_ref().unwrap().scan.ct, 0, axial).to_screen(trunk)
    };
    h.key_press(egui::Key::L);
    h.step();
    // The vein button of the edit panel (the legend's "vein" is a label).
    h.get_all_by_label("vein").find(|n| n.accesskit_node().role() != Role::Label).expect("a vein button").click();
    h.step();
    assert_eq!(h.state().views.as_ref().unwrap().mpr.edit.class, 2);
    click(&mut h, at);
    h.step();
    h.get_by_label_contains("Preview: relabel as vein");
    let tree = painted - legend_ml(&h, 1);
    assert!(tree > 10.0, "the preview shows the artery tree as vein: {tree} mL");
    assert_eq!(h.state().doc.as_ref().unwrap().history.undo_len(), 1, "not made yet");
    h.key_press(egui::Key::Enter);
    h.step();
    h.step();
    assert_eq!(h.state().doc.as_ref().unwrap().history.undo_len(), 2);
    assert!((legend_ml(&h, 2) - (vein + tree)).abs() < 1e-6);
    assert!((legend_ml(&h, 1) - (painted - artery)).abs() < 1e-6, "only the stroke is artery now");
    h.get_by_label("Undo relabel as vein");
    // The legend's pieces are recounted once the edits pause.
    wait_until(&mut h, "the pieces counted", |app| {
        app.doc.as_ref().unwrap().layers.shown_layer().unwrap().pieces_current()
    });
    assert_eq!(h.state().doc.as_ref().unwrap().layers.shown_layer().unwrap().figures(1).1, 1, "the stroke");
}

#[test]
fn the_3d_view_renders_the_volume_in_each_mode_and_cuts_it() {
    let cfg = tempfile::tempdir().unwrap();
    let mut h = harness(None, cfg.path());
    wait_until(&mut h, "the sample", idle);
    let rect = h.state().views.as_ref().unwrap().mpr.rects[3];
    h.get_by_label("labels (volume)").click_accesskit();
    h.step();
    wait_until(&mut h, "the volume", |app| {
        let v = &app.views.as_ref().unwrap().view3d.volume;
        v.ready.is_some() || v.error.is_some()
    });
    assert!(h.state().views.as_ref().unwrap().view3d.volume.error.is_none());
    // Surfaces off: only the volume draws the classes in their colours.
    h.get_by_label("surfaces too").click_accesskit();
    h.step();
    h.step();
    let labels = h.render().expect("rendering works");
    if let Ok(p) = std::env::var("VASA_SHOT") {
        labels.save(format!("{p}-labels.png")).unwrap();
    }
    let coloured = distinct_in(&labels, rect, |p| p[0].abs_diff(p[2]) > 60);
    assert!(coloured > 50, "the labels volume shows {coloured} coloured pixel values");
    // MIP: grey levels only.
    h.get_by_label("MIP").click_accesskit();
    h.step();
    h.step();
    let mip = h.render().expect("rendering works");
    if let Ok(p) = std::env::var("VASA_SHOT") {
        mip.save(format!("{p}-mip.png")).unwrap();
    }
    let greys = distinct_in(&mip, rect, |p| p[0] == p[1] && p[1] == p[2] && p[0] > 30);
    assert!(greys > 50, "the MIP shows {greys} grey levels");
    // A cut through the crosshair facing the camera removes the front half:
    // the picture changes.
    h.get_by_label("cut at the crosshair").click_accesskit();
    h.step();
    h.step();
    assert!(h.state().views.as_ref().unwrap().view3d.volume.clip_plane.is_some());
    let cut = h.render().expect("rendering works");
    let changed = (rect.top() as u32 + 20..rect.bottom() as u32 - 20)
        .flat_map(|y| (rect.left() as u32 + 20..rect.right() as u32 - 20).map(move |x| (x, y)))
        .filter(|&(x, y)| mip.get_pixel(x, y) != cut.get_pixel(x, y))
        .count();
    assert!(changed > 1000, "the cut changed {changed} pixels");
    // Volume rendering with a preset.
    h.get_by_label("volume rendering").click_accesskit();
    h.step();
    h.step();
    let dvr = h.render().expect("rendering works");
    if let Ok(p) = std::env::var("VASA_SHOT") {
        dvr.save(format!("{p}-dvr.png")).unwrap();
    }
    let lit = distinct_in(&dvr, rect, |p| p[0] > 40);
    assert!(lit > 50, "the volume rendering shows {lit} pixel values");
    // Translucent surfaces with the volume (in depth): the picture changes
    // where they are, and nothing breaks.
    h.get_by_label("surfaces too").click_accesskit();
    h.step();
    h.step();
    let opaque = h.render().expect("rendering works");
    h.state_mut().views.as_mut().unwrap().view3d.volume.surface_opacity = 0.4;
    h.step();
    h.step();
    let translucent = h.render().expect("rendering works");
    if let Ok(p) = std::env::var("VASA_SHOT") {
        translucent.save(format!("{p}-translucent.png")).unwrap();
    }
    let changed = (rect.top() as u32 + 20..rect.bottom() as u32 - 20)
        .flat_map(|y| (rect.left() as u32 + 20..rect.right() as u32 - 20).map(move |x| (x, y)))
        .filter(|&(x, y)| opaque.get_pixel(x, y) != translucent.get_pixel(x, y))
        .count();
    assert!(changed > 500, "translucent surfaces changed {changed} pixels");

    // The transfer function: a preset, then saved and loaded back; a bad
    // file is a notice naming it, and the function stays.
    h.get_by_label_contains("opacity per mm over HU");
    if let Ok(p) = std::env::var("VASA_SHOT") {
        h.get_by_label("save…").scroll_to_me();
        for _ in 0..4 {
            h.step();
        }
        h.render().unwrap().save(format!("{p}-editor.png")).unwrap();
    }
    let tf_path = cfg.path().join("mine.json");
    let mut edited = vasa_render::TransferFunction::bone();
    edited.points[1].opacity = 0.42;
    h.state_mut().views.as_mut().unwrap().view3d.volume.transfer = edited.clone();
    h.state_mut().apply(vasa::gui::actions::Action::SaveTransferFunction(tf_path.clone()));
    h.state_mut().views.as_mut().unwrap().view3d.volume.transfer = vasa_render::TransferFunction::ct_angio();
    h.state_mut().apply(vasa::gui::actions::Action::OpenTransferFunction(tf_path.clone()));
    assert_eq!(h.state().views.as_ref().unwrap().view3d.volume.transfer, edited);
    std::fs::write(&tf_path, "{}").unwrap();
    h.state_mut().apply(vasa::gui::actions::Action::OpenTransferFunction(tf_path));
    h.step();
    h.get_by_label_contains("mine.json: not a transfer function");
    assert_eq!(h.state().views.as_ref().unwrap().view3d.volume.transfer, edited);
}

#[test]
fn a_lesion_and_an_applicator_placed_by_hand_are_checked_with_warnings() {
    let cfg = tempfile::tempdir().unwrap();
    let mut h = harness(None, cfg.path());
    wait_until(&mut h, "the sample", idle);
    // Put the axial slice through the pulmonary trunk.
    let trunk = pulmonary_trunk(&h);
    h.state_mut().views.as_mut().unwrap().mpr.cursor = trunk;
    h.step();
    // (The panels may change width as the plan grows: the view's rect is read each time.)
    let screen = |h: &Harness<'_, VasaApp>, p: glam::DVec3| {
        let app = h.state();
        let mpr = &app.views.as_ref().unwrap().mpr;
        mpr.mapping(&app.doc.as_ref().unwrap().scan.ct, 0, mpr.rects[0]).to_screen(p)
    };
    // A lesion 12 mm beside the trunk.
    let lesion = trunk + glam::DVec3::new(12.0, 0.0, 0.0);
    h.key_press(egui::Key::T);
    h.step();
    let at = screen(&h, lesion);
    click(&mut h, at);
    let placed = h.state().doc.as_ref().unwrap().plan.lesion.expect("a lesion");
    assert!((placed.centre - lesion).length() < 1.5, "{} vs {lesion}", placed.centre);
    // An applicator: the target on the lesion, the entry 60 mm anterior.
    h.key_press(egui::Key::P);
    h.step();
    let (at, skin) = (screen(&h, lesion), screen(&h, lesion + glam::DVec3::new(0.0, -60.0, 0.0)));
    click(&mut h, at);
    click(&mut h, skin);
    assert_eq!(h.state().doc.as_ref().unwrap().plan.applicators.len(), 1);
    // The new path opens its probe's-eye and along-the-path views.
    h.step();
    h.get_by_label("Applicator 1 path");
    assert!(h.query_all_by_label_contains("probe's eye: mm from the tip").next().is_some());
    // The checks run on a worker; the panel shows the margin and the warnings.
    wait_until(&mut h, "the checks", |app| {
        let (doc, views) = (app.doc.as_ref().unwrap(), app.views.as_ref().unwrap());
        let layer = doc.layers.shown_layer().unwrap();
        views.plan_checks.current(&doc.plan, (layer.id, layer.revision()))
    });
    h.step();
    let report = h.state().views.as_ref().unwrap().plan_checks.reports[0].clone().expect("a report");
    h.get_by_label_contains(&format!("margin {:.1} mm (", report.margin_mm));
    assert!(!report.covered, "a 15 mm lesion in a 20 mm wide zone has a 2.5 mm margin: {}", report.margin_mm);
    assert!(report.vessels.iter().any(|v| v.class == "artery" && v.heat_sink), "{:?}", report.vessels);
    assert!(report.warnings.iter().any(|w| w.contains("heat sink")), "{:?}", report.warnings);
    h.get_by_label_contains("warning: heat sink");
    if let Ok(p) = std::env::var("VASA_SHOT") {
        h.render().unwrap().save(format!("{p}-plan.png")).unwrap();
    }
    // The path views are closed from the panel.
    h.get_by_label("probe's-eye and along-the-path views").click_accesskit();
    h.step();
    assert!(!h.state().views.as_ref().unwrap().path_views.open);
    h.step();
    // Dragging the entry moves it (and the checks follow).
    let revision = h.state().doc.as_ref().unwrap().plan.revision;
    let entry = screen(&h, h.state().doc.as_ref().unwrap().plan.applicators[0].entry);
    drag(&mut h, egui::PointerButton::Primary, entry, egui::vec2(-30.0, 0.0));
    let plan = &h.state().doc.as_ref().unwrap().plan;
    assert!(plan.revision > revision);
    assert!(
        plan.applicators[0].entry.x < lesion.x - 10.0,
        "the entry moved to the patient's right: {}",
        plan.applicators[0].entry
    );
    // A lesion of any shape: "painted" takes up the brush with the class lesion.
    h.get_by_label("painted").click_accesskit();
    h.step();
    h.step();
    let app = h.state();
    assert!(app.doc.as_ref().unwrap().plan.lesion_painted);
    let mpr = &app.views.as_ref().unwrap().mpr;
    assert_eq!((mpr.tool, mpr.edit.class), (vasa::gui::tools::Tool::Brush, vasa_scan::labels::LESION));
}

#[test]
fn the_kiosk_tours_extracts_plans_hands_over_to_a_visitor_and_comes_back() {
    use vasa::gui::kiosk::{Phase as Tour, Step};
    let dir = tempfile::tempdir().unwrap();
    let scan = coarse_phantom(7, Phase::Ctpa);
    let path = dir.path().join("phantom.nii.gz");
    nifti::write_nifti(&path, &scan.ct).unwrap();
    let mut h = harness(Some(path.clone()), dir.path());
    h.state_mut().start_kiosk(vasa::gui::KioskOptions { idle_s: 1, speed: 40.0, loops: None });
    h.state_mut().kiosk_mode.as_mut().unwrap().source = Source::Path(path);
    let phase = |h: &Harness<'_, VasaApp>| h.state().kiosk_mode.as_ref().unwrap().phase;
    // Locked down: no file dialogs, no saving, no quitting.
    let app = h.state();
    assert!(!app.allows(&vasa::gui::actions::Action::ChooseFile(vasa::gui::chrome::dialogs::Purpose::OpenScanFile)));
    assert!(!app.allows(&vasa::gui::actions::Action::Quit));
    assert!(app.autosave_dir.is_none(), "visitors' edits are not kept");
    // The tour: the scan, the extraction with its progress, then the 3D tree.
    wait_until(&mut h, "the extraction step", |a| a.kiosk_mode.as_ref().unwrap().phase == Tour::Tour(Step::Extract));
    h.get_by_label(Step::Extract.caption());
    wait_until(&mut h, "the 3D step", |a| a.kiosk_mode.as_ref().unwrap().phase == Tour::Tour(Step::Rotate));
    assert_eq!(h.state().views.as_ref().unwrap().mpr.maximised, Some(3), "the 3D view fills the window");
    let layer = h.state().doc.as_ref().unwrap().layers.shown_layer().map(|l| l.name.clone());
    assert_eq!(layer.as_deref(), Some(VESSELS_LAYER));
    // One class at a time.
    wait_until(&mut h, "the veins alone", |a| a.kiosk_mode.as_ref().unwrap().phase == Tour::Tour(Step::Class(2)));
    let styles = &h.state().views.as_ref().unwrap().styles.styles;
    assert!(styles[2].visible && !styles[1].visible && !styles[3].visible);
    // The plan, with its checks and warnings on screen.
    wait_until(&mut h, "the plan", |a| a.kiosk_mode.as_ref().unwrap().phase == Tour::Tour(Step::Plan));
    let plan = &h.state().doc.as_ref().unwrap().plan;
    assert!(plan.lesion.is_some() && plan.applicators.len() == 1);
    wait_until(&mut h, "the checks", |app| {
        let (doc, views) = (app.doc.as_ref().unwrap(), app.views.as_ref().unwrap());
        let layer = doc.layers.shown_layer().unwrap();
        views.plan_checks.current(&doc.plan, (layer.id, layer.revision()))
    });
    h.step();
    assert!(h.query_all_by_label_contains("covered)").next().is_some(), "the margin's figure on screen");
    h.get_by_label_contains("\nMargin ");
    if let Ok(p) = std::env::var("VASA_SHOT") {
        h.render().unwrap().save(format!("{p}-kiosk-plan.png")).unwrap();
    }
    // A visitor's click hands over; a second without input brings the tour back.
    let centre = h.state().views.as_ref().unwrap().mpr.rects[0].center();
    click(&mut h, centre);
    assert_eq!(phase(&h), Tour::Exploring);
    h.get_by_label_contains("The tour resumes after 1 s");
    wait_until(&mut h, "the tour again", |a| matches!(a.kiosk_mode.as_ref().unwrap().phase, Tour::Tour(_)));
    assert_eq!(phase(&h), Tour::Tour(Step::Open));
    // End the tour and let the sample it started loading finish: a worker
    // still running when the test binary exits can crash it in teardown.
    h.state_mut().kiosk_mode = None;
    wait_until(&mut h, "the last job", idle);
}

#[test]
fn the_welcome_panel_and_the_keyboard_sheet_help_a_first_run() {
    let cfg = tempfile::tempdir().unwrap();
    let mut h = harness(None, cfg.path());
    h.state_mut().welcome = true;
    wait_until(&mut h, "the sample", idle);
    // Three things to try; Start dismisses it, and the choice is remembered.
    h.get_by_label("Welcome to Vasa");
    for (title, _) in vasa::gui::chrome::help::FIRST_STEPS {
        h.get_by_label_contains(title);
    }
    if let Ok(p) = std::env::var("VASA_SHOT") {
        h.render().unwrap().save(format!("{p}-welcome.png")).unwrap();
    }
    h.get_by_label("Start").click();
    h.run_steps(2);
    assert!(!h.state().welcome && h.state().prefs().welcomed);
    assert!(h.query_by_label("Welcome to Vasa").is_none());
    // F1: every tool with its key and what it does.
    h.key_press(egui::Key::F1);
    h.run_steps(2);
    h.get_by_label("Keys (F1)");
    for (tool, _) in vasa::gui::tools::Tool::ALL {
        h.get_by_label_contains(tool.help());
    }
    h.key_press(egui::Key::F1);
    h.run_steps(2);
    assert!(h.query_by_label("Keys (F1)").is_none());
}

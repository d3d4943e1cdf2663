//! What a brush stroke costs per frame on a 512×512×400 label map of a chest
//! phantom (the editing issue's "on screen within one frame", 16 ms): one
//! stroke step in the document (a 3 mm sphere, 2 mm further along) plus the
//! partial upload of the edited box to the GPU, finished (the queue waited
//! on). Peer in the same run: uploading the whole label map, what an upload
//! without dirty boxes would cost every frame. Median of several runs. The
//! GPU is whatever the machine has (Mesa's software Vulkan here); without
//! one, the document part alone is reported.
//!
//! Run: `cargo bench -p vasa --bench stroke`.

use std::sync::Arc;
use std::time::Instant;

use glam::DVec3;
use vasa::doc::{Brush, Document, LabelLayer, Scan};
use vasa_inference::phantom::{self, PhantomOptions, Phase};
use vasa_render::headless::HeadlessGpu;
use vasa_render::{DirtyBox, ScanTextures};

fn median(mut t: Vec<f64>) -> f64 {
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list
    }
    let options = PhantomOptions::grid(5, Phase::Plain, [512, 512, 400], DVec3::new(0.68, 0.68, 0.8));
    let p = phantom::generate(&options).expect("valid phantom");
    let labels = p.labels.map(|&l| if l <= 3 { l } else { 0 });
    let scan = Scan {
        ct: Arc::new(p.ct),
        metadata: Default::default(),
        warnings: Vec::new(),
        hu_range: None,
        name: "bench".into(),
        path: None,
    };
    let gpu = HeadlessGpu::new().ok();
    let textures = gpu.as_ref().map(|g| ScanTextures::upload(&g.device, &g.queue, &scan.ct, Some(&labels)).unwrap());
    let mut doc = Document::new(scan, 1);
    let layer = LabelLayer::new("bench", labels);
    let id = layer.id;
    doc.layers.add(layer);
    let centre = doc.scan.ct.voxel_to_world([256, 256, 200]);
    let brush = Brush { class: 2, radius_mm: 3.0, hu: None, normal: None };
    let steps = 41;

    let (mut document, mut upload) = (Vec::new(), Vec::new());
    for n in 0..steps {
        let p = centre + DVec3::new(2.0 * n as f64, 0.0, 0.0);
        let t = Instant::now();
        doc.stroke_to(id, brush, p.to_array()).unwrap();
        document.push(t.elapsed().as_secs_f64() * 1e3);
        let layer = doc.layers.get_mut(id).unwrap();
        let dirty = layer.take_dirty().expect("the step changed voxels");
        if let (Some(g), Some(tex)) = (&gpu, &textures) {
            let t = Instant::now();
            tex.update_labels_region(&g.queue, &layer.labels, DirtyBox::new(dirty.min, dirty.max)).unwrap();
            g.queue.submit([]);
            g.device.poll(eframe::wgpu::PollType::wait_indefinitely()).unwrap();
            upload.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    let t = Instant::now();
    doc.finish_stroke();
    let finish = t.elapsed().as_secs_f64() * 1e3;
    println!("512×512×400 label map, a stroke of {steps} steps (3 mm sphere, 2 mm apart), median per step:");
    let doc_ms = median(document);
    println!("  document (apply, legend, dirty box) {doc_ms:>8.2} ms");
    if let (Some(g), Some(tex)) = (&gpu, &textures) {
        let up = median(upload);
        println!("  partial upload to the GPU           {up:>8.2} ms   ({})", g.adapter_name);
        println!("  one frame's stroke work             {:>8.2} ms   (one frame: 16 ms)", doc_ms + up);
        let labels = doc.layers.get(id).unwrap().labels.clone();
        let whole: Vec<f64> = (0..5)
            .map(|_| {
                let t = Instant::now();
                tex.update_labels(&g.queue, &labels).unwrap();
                g.queue.submit([]);
                g.device.poll(eframe::wgpu::PollType::wait_indefinitely()).unwrap();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        let whole = median(whole);
        println!("  peer: whole-map upload              {whole:>8.2} ms   ({:.0}× the partial one)", whole / up);
    } else {
        println!("  (no GPU: the upload was not measured)");
    }
    println!("  the stroke's end (one undo step)    {finish:>8.2} ms");
}

//! Studies the tree stage without rerunning the network:
//! `tree_file CT MODEL CACHE [TRUTH]`.
//!
//! The first run segments CT with MODEL (tree stage off) and keeps the
//! refined labels and the network's artery share in CACHE; later runs read
//! them back. Each run applies the tree stage, times it, and with TRUTH
//! prints, before and after: Dice per class, the share of each class's
//! volume in its largest piece, true artery called vein and back, clDice.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use vasa_inference::segment::{SegmentOptions, Segmenter};
use vasa_inference::tree::{self, TreeOptions};
use vasa_scan::components::{Connectivity, label_classes};
use vasa_scan::labels::{AORTA, ARTERY, VEIN};
use vasa_scan::{LabelMap, metrics, nifti};

fn largest_fraction(labels: &LabelMap, class: u8) -> f64 {
    metrics::largest_piece_fraction(labels, class).unwrap_or(0.0)
}

fn called(pred: &LabelMap, truth: &LabelMap, t: u8, p: u8) -> f64 {
    let (mut n, mut hit) = (0u64, 0u64);
    for (&a, &b) in truth.data().iter().zip(pred.data()) {
        if a == t {
            n += 1;
            hit += (b == p) as u64;
        }
    }
    hit as f64 / n.max(1) as f64
}

fn report(name: &str, pred: &LabelMap, truth: Option<&LabelMap>) {
    print!("{name:<7}");
    for c in [ARTERY, VEIN] {
        print!(" largest[{c}] {:.3}", largest_fraction(pred, c));
    }
    if let Some(truth) = truth {
        let cmp = metrics::compare_labels(pred, truth).expect("same grid");
        for m in &cmp.classes {
            if [ARTERY, VEIN, AORTA].contains(&m.class) {
                print!(" dice[{}] {:.3}", m.class, m.dice);
            }
        }
        print!(
            " A→V {:.3} V→A {:.3} cl[1] {:.3} cl[2] {:.3}",
            called(pred, truth, ARTERY, VEIN),
            called(pred, truth, VEIN, ARTERY),
            metrics::cl_dice(pred, truth, ARTERY),
            metrics::cl_dice(pred, truth, VEIN)
        );
    }
    println!();
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: tree_file CT MODEL CACHE [TRUTH]");
        std::process::exit(2);
    }
    let ct = nifti::read_ct(Path::new(&args[1]))?;
    let cache = Path::new(&args[3]);
    std::fs::create_dir_all(cache)?;
    let (labels_path, share_path) = (cache.join("refined.nii.gz"), cache.join("share.nii.gz"));
    if !labels_path.exists() {
        let seg = Segmenter::load(Path::new(&args[2]))?;
        let options = SegmentOptions { tree: false, keep_artery_share: true, ..Default::default() };
        let s = seg.segment(&ct, &options, &|_| {}, &AtomicBool::new(false))?;
        nifti::write_nifti(&labels_path, &s.labels)?;
        nifti::write_nifti(&share_path, s.artery_share.as_ref().expect("kept"))?;
    }
    let before = nifti::read_labels(&labels_path)?;
    let share = nifti::read_labels(&share_path)?;
    let truth = args.get(4).map(|p| nifti::read_labels(Path::new(p))).transpose()?;
    if let Some(t) = &truth {
        // What the lumen pass alone changes, against the truth.
        let (mut l, mut sh) = (before.clone(), share.clone());
        let merges = tree::lumen::merge_split_lumens(&mut l, &mut sh, &ct);
        let mut made = [[0u64; 4]; 4];
        for n in 0..l.len() {
            if l.data()[n] != before.data()[n] {
                made[l.data()[n].min(3) as usize][t.data()[n].min(3) as usize] += 1;
            }
        }
        {
            let c = label_classes(&before, Connectivity::TwentySix);
            let ids = c.ids();
            let mut per: std::collections::BTreeMap<u32, [u64; 4]> = Default::default();
            for n in 0..l.len() {
                if l.data()[n] != before.data()[n] {
                    per.entry(ids.data()[n]).or_default()[t.data()[n].min(3) as usize] += 1;
                }
            }
            for (id, m) in per {
                println!("  lumen piece {id} class {} -> truth bg/A/V/Ao {m:?}", c.class_of(id));
            }
        }
        println!(
            "lumen pass: {} pieces; to artery (truth bg/A/V/Ao) {:?}, to vein {:?}",
            merges.len(),
            made[1],
            made[2]
        );
    }
    let mut after = before.clone();
    let t = Instant::now();
    let result = tree::label_trees(&ct, &mut after, &share, &TreeOptions::default());
    println!(
        "tree stage {:.2} s, {} branches, {} gaps joined, {} islands",
        t.elapsed().as_secs_f64(),
        result.graph.branches.len(),
        result.graph.gaps.len(),
        result.graph.islands.len()
    );
    for c in &result.graph.classes {
        println!("  {:?}", c);
    }
    let adopted_ml: f64 = result.graph.adopted.iter().map(|a| a.volume_ml).sum();
    println!("  {} pieces adopted by the other tree, {adopted_ml:.2} mL", result.graph.adopted.len());
    let voxel_ml = ct.geometry.spacing.element_product() / 1000.0;
    for c in [ARTERY, VEIN] {
        let total = after.data().iter().filter(|&&l| l == c).count() as f64 * voxel_ml;
        let isl: Vec<String> = result
            .graph
            .islands
            .iter()
            .filter(|i| i.class == c)
            .take(8)
            .map(|i| format!("{:.2} mL at {:?}", i.volume_ml, i.at_mm.map(|v| v.round())))
            .collect();
        println!("  class {c}: {total:.1} mL; islands {}", isl.join(", "));
    }
    if let Some(t) = &truth {
        // Voxels the stage changed: right before, right after; by the owner's radius.
        let mut table = std::collections::BTreeMap::new();
        for n in 0..after.len() {
            let (b, a) = (before.data()[n], after.data()[n]);
            if a == b {
                continue;
            }
            let [i, j, k] = after.coords(n);
            let r = &result.region;
            let o = if r.contains([i, j, k]) {
                result.owner.data()[result.owner.index(i - r.min[0], j - r.min[1], k - r.min[2])]
            } else {
                0
            };
            let radius = if o == 0 { -1.0 } else { result.graph.branches[o as usize - 1].mean_radius_mm };
            let bucket = if radius < 0.0 {
                "gap"
            } else if radius < 2.0 {
                "r<2"
            } else if radius < 5.0 {
                "r<5"
            } else {
                "r>=5"
            };
            let e = table.entry((bucket, b, a)).or_insert((0u64, 0u64, 0u64));
            e.0 += 1;
            e.1 += (t.data()[n] == b) as u64;
            e.2 += (t.data()[n] == a) as u64;
        }
        // The branches behind most changes.
        let mut per_owner = std::collections::HashMap::<u32, (u64, u64, u64)>::new();
        for n in 0..after.len() {
            let [i, j, k] = after.coords(n);
            let r = &result.region;
            if !r.contains([i, j, k]) {
                continue;
            }
            let o = result.owner.data()[result.owner.index(i - r.min[0], j - r.min[1], k - r.min[2])];
            if o == 0 {
                continue;
            }
            let e = per_owner.entry(o).or_default();
            e.0 += (before.data()[n] != after.data()[n]) as u64;
            e.1 += (before.data()[n] == 1) as u64;
            e.2 += (before.data()[n] == 2) as u64;
        }
        let mut top: Vec<_> = per_owner.into_iter().filter(|e| e.1.0 > 0).collect();
        top.sort_by_key(|e| std::cmp::Reverse(e.1.0));
        for (o, (changed, was_a, was_v)) in top.iter().take(6) {
            let b = &result.graph.branches[*o as usize - 1];
            println!(
                "  branch {} class {} conf {:.2} r {:.1} len {:.0} voxels {} changed {changed} (was A {was_a} V {was_v}) parent {:?} at {:?}",
                b.id,
                b.class,
                b.confidence,
                b.mean_radius_mm,
                b.length_mm,
                b.voxels,
                b.parent,
                b.middle_mm().round()
            );
        }
        for ((bucket, b, a), (n, rb, ra)) in table {
            println!("  changed {bucket:>5} {b}->{a}: {n:>7} voxels, right before {rb:>7}, right after {ra:>7}");
        }
    }
    report("before", &before, truth.as_ref());
    report("after", &after, truth.as_ref());
    nifti::write_nifti(&cache.join("tree.nii.gz"), &after)?;
    // Coronal projections to look at: truth | before | after (islands lighter).
    let main_pieces = {
        let c = label_classes(&after, Connectivity::TwentySix);
        let ids = c.ids();
        let mut keep = vec![false; c.count() + 1];
        for class in [ARTERY, VEIN, AORTA] {
            let best = (1..=c.count() as u32).filter(|&id| c.class_of(id) == class).max_by_key(|&id| c.size(id));
            if let Some(b) = best {
                keep[b as usize] = true;
            }
        }
        ids.map(|&id| keep[id as usize])
    };
    let panels: Vec<(&LabelMap, bool)> =
        truth.iter().map(|t| (t, false)).chain([(&before, false), (&after, true)]).collect();
    let [nx, ny, nz] = after.dims();
    let width = nx * panels.len();
    let mut rgb = vec![0u8; width * nz * 3];
    for (p, (labels, mark)) in panels.iter().enumerate() {
        for k in 0..nz {
            for i in 0..nx {
                for j in 0..ny {
                    let n = labels.index(i, j, k);
                    let l = labels.data()[n];
                    if l == 0 || l > 3 {
                        continue;
                    }
                    let shade = 1.0 - 0.6 * j as f64 / ny as f64;
                    let mut colour: [f64; 3] = match l {
                        1 => [60.0, 110.0, 255.0],
                        2 => [255.0, 60.0, 60.0],
                        _ => [255.0, 220.0, 60.0],
                    };
                    if *mark && !main_pieces.data()[n] {
                        colour = if l == 1 { [120.0, 255.0, 255.0] } else { [255.0, 160.0, 255.0] };
                    }
                    let px = ((nz - 1 - k) * width + p * nx + i) * 3;
                    for c in 0..3 {
                        rgb[px + c] = (colour[c] * shade) as u8;
                    }
                    break;
                }
            }
        }
    }
    // Rows repeated so that the picture has the scan's proportions.
    let repeat = (after.geometry.spacing.z / after.geometry.spacing.x).round().max(1.0) as usize;
    let rows: Vec<u8> = rgb.chunks(width * 3).flat_map(|r| std::iter::repeat_n(r, repeat).flatten().copied()).collect();
    vasa_scan::png::write_rgb(&cache.join("coronal.png"), width, nz * repeat, &rows)?;
    Ok(())
}

//! `vasa render`: a picture of a scan (and its labels) from one of six
//! standard directions, rendered off-screen through the viewer's volume
//! renderer: orthographic, the volume's extent filling the image with its
//! aspect kept, centred, on black. In the anterior view image right is the
//! patient's left and up is superior, as in a frontal radiograph.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use vasa_render::headless::HeadlessGpu;
use vasa_render::{
    LabelStyle, LabelTexture, RayVolume, StandardView, TransferFunction, VolumeMode, VolumeRenderer, VolumeSettings,
};
use vasa_scan::{ClassTable, nifti};

/// Largest image side accepted (pixels).
pub const MAX_SIDE: u32 = 8192;

/// Arguments of `vasa render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The scan (NIfTI file, DICOM file or folder).
    pub scan: PathBuf,
    /// Labels on the scan's grid (NIfTI, uint8), for `--mode labels`.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// What to draw: mip, minip, dvr or labels.
    #[arg(long, value_parser = parse_mode)]
    pub mode: VolumeMode,
    /// Transfer-function preset of dvr (and of the CT context under labels):
    /// "ct-angio" (default), "lung-vessels", "bone", "soft-tissue"; or a
    /// JSON file saved from the viewer.
    #[arg(long)]
    pub preset: Option<String>,
    /// Where from: anterior, posterior, left, right, superior or inferior.
    #[arg(long, value_parser = parse_view, default_value = "anterior")]
    pub view: StandardView,
    /// Image size, WxH pixels.
    #[arg(long, value_parser = parse_size, default_value = "1024x1024")]
    pub size: [u32; 2],
    /// Where to write the picture (.png).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
}

fn parse_mode(s: &str) -> Result<VolumeMode, String> {
    VolumeMode::from_name(s).ok_or_else(|| format!("'{s}' is not a mode: mip, minip, dvr or labels"))
}

fn parse_view(s: &str) -> Result<StandardView, String> {
    StandardView::from_name(s)
        .ok_or_else(|| format!("'{s}' is not a view: anterior, posterior, left, right, superior or inferior"))
}

/// Parses `WxH` (each side 1 to [`MAX_SIDE`]).
pub fn parse_size(s: &str) -> Result<[u32; 2], String> {
    let bad = || format!("'{s}' is not a size: WxH pixels, e.g. 1024x768, each side 1 to {MAX_SIDE}");
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let (w, h): (u32, u32) = (w.trim().parse().map_err(|_| bad())?, h.trim().parse().map_err(|_| bad())?);
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        return Err(bad());
    }
    Ok([w, h])
}

/// The transfer function `--preset` names: a preset, or a JSON file.
fn transfer_function(preset: Option<&str>) -> anyhow::Result<TransferFunction> {
    let Some(p) = preset else { return Ok(TransferFunction::ct_angio()) };
    if let Some(tf) = TransferFunction::preset(p) {
        return Ok(tf);
    }
    let path = PathBuf::from(p);
    if !path.is_file() {
        let names: Vec<String> =
            TransferFunction::presets().iter().map(|t| t.name.to_lowercase().replace(" ", "-")).collect();
        bail!("'{p}' is neither a preset ({}) nor a transfer-function file", names.join(", "));
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let tf: TransferFunction =
        serde_json::from_str(&text).with_context(|| format!("{}: not a transfer function", path.display()))?;
    tf.validated().with_context(|| format!("{}: bad transfer function", path.display()))
}

/// Runs `vasa render`.
pub fn run(args: RenderArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let ext = args.output.extension().and_then(|e| e.to_str()).map(str::to_lowercase);
    if ext.as_deref() != Some("png") {
        bail!("{}: output must be a .png file", args.output.display());
    }
    if let Some(dir) = args.output.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        bail!("{}: folder {} does not exist", args.output.display(), dir.display());
    }
    if args.mode == VolumeMode::Labels && args.labels.is_none() {
        bail!("--mode labels needs --labels LABELS.nii.gz");
    }
    let transfer = transfer_function(args.preset.as_deref())?;
    let scan = vasa_scan::open_scan(&args.scan)?;
    let ct = scan.volume;
    let labels = match &args.labels {
        Some(p) => {
            let mut l = nifti::read_labels(p)?;
            if !ct.same_grid(&l) {
                bail!(
                    "{}: not on the grid of {} ({:?} vs {:?} voxels, or spacing, origin or direction differ)",
                    p.display(),
                    args.scan.display(),
                    l.dims(),
                    ct.dims()
                );
            }
            l.geometry = ct.geometry;
            Some(l)
        }
        None => None,
    };
    let (rgba, adapter) = render_rgba(&ct, labels.as_ref(), args.mode, transfer, args.view, args.size)
        .with_context(|| format!("rendering {}", args.scan.display()))?;
    // Opaque on black.
    let pixels: Vec<u8> = rgba.chunks(4).flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    vasa_scan::png::write_rgba(&args.output, args.size[0] as usize, args.size[1] as usize, &pixels)
        .with_context(|| format!("writing {}", args.output.display()))?;
    println!(
        "wrote {} ({} {}×{}, {} view, {}, {:.2} s)",
        args.output.display(),
        args.mode.name(),
        args.size[0],
        args.size[1],
        StandardView::ALL.iter().find(|(v, _)| *v == args.view).map_or("", |(_, n)| n),
        adapter,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Renders `ct` (and `labels`, on its grid) off-screen as `mode` from
/// `view` at `size`: premultiplied RGBA, and the GPU adapter's name.
pub fn render_rgba(
    ct: &vasa_scan::Volume<i16>,
    labels: Option<&vasa_scan::LabelMap>,
    mode: VolumeMode,
    transfer: TransferFunction,
    view: StandardView,
    size: [u32; 2],
) -> anyhow::Result<(Vec<u8>, String)> {
    let gpu =
        HeadlessGpu::new().context("rendering needs a GPU adapter (a software one will do: mesa-vulkan-drivers)")?;
    let volume = RayVolume::upload(&gpu.device, &gpu.queue, ct, labels).context("the scan cannot go to the GPU")?;
    let label_texture = LabelTexture::new(&gpu.device, ct.dims())?;
    if let Some(l) = labels {
        label_texture.update(&gpu.queue, l)?;
    }
    let mut settings = VolumeSettings::new(mode, &ct.geometry);
    settings.transfer = transfer;
    let table = ClassTable::default();
    settings.styles = (0..=255u8)
        .map(|c| match table.get(c) {
            Some(info) if c != 0 => LabelStyle { color: info.color, opacity: 1.0 },
            _ => LabelStyle { color: [0; 3], opacity: 0.0 },
        })
        .collect();
    let renderer = VolumeRenderer::new(&gpu.device);
    let camera = view.camera(&ct.geometry, ct.dims(), size);
    let rgba =
        gpu.render_volume(&renderer, &volume, &label_texture, &ct.geometry, &settings, &camera, size, [0.0; 3])?;
    Ok((rgba, gpu.adapter_name.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_modes_and_presets_parse_or_say_why_not() {
        assert_eq!(parse_size("1920x1080"), Ok([1920, 1080]));
        assert!(parse_size("0x10").is_err() && parse_size("10").is_err() && parse_size("99999x2").is_err());
        assert_eq!(parse_mode("DVR"), Ok(VolumeMode::Dvr));
        assert!(parse_mode("xray").unwrap_err().contains("mip, minip, dvr or labels"));
        assert_eq!(transfer_function(Some("bone")).unwrap().name, "bone");
        let e = transfer_function(Some("nope")).unwrap_err().to_string();
        assert!(e.contains("ct-angio") && e.contains("lung-vessels"), "{e}");
    }
}

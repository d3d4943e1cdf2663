//! The training loss: cross-entropy plus soft Dice over the vessel classes
//! (the nnU-Net recipe; Dice keeps thin, rare vessels from being drowned by
//! background, cross-entropy keeps the gradients well behaved early on).

use candle_core::{D, DType, Result, Tensor};

/// Smoothing term of the soft Dice (voxels).
const DICE_SMOOTH: f64 = 1.0;

/// The loss and its parts for one batch.
pub struct Loss {
    /// Cross-entropy + (1 − mean soft Dice), a scalar to back-propagate.
    pub total: Tensor,
    /// The cross-entropy part.
    pub cross_entropy: f32,
    /// The mean soft Dice of the foreground classes.
    pub soft_dice: f32,
}

/// `logits`: (B, C, D, H, W); `target`: class per voxel, B·D·H·W long, in
/// the same order. Soft Dice is computed over the whole batch per class
/// 1..C and averaged.
pub fn dice_ce_loss(logits: &Tensor, target: &[u32]) -> Result<Loss> {
    let c = logits.dim(1)?;
    let flat = logits.permute((0, 2, 3, 4, 1))?.contiguous()?.reshape(((), c))?;
    let n = flat.dim(0)?;
    if n != target.len() {
        candle_core::bail!("{} targets for {n} voxels", target.len());
    }
    let device = logits.device();
    let t = Tensor::from_slice(target, n, device)?;
    let logp = candle_nn::ops::log_softmax(&flat, D::Minus1)?;
    let ce = logp.gather(&t.unsqueeze(1)?, 1)?.squeeze(1)?.mean_all()?.neg()?;
    let mut onehot = vec![0f32; n * c];
    for (i, &y) in target.iter().enumerate() {
        onehot[i * c + (y as usize).min(c - 1)] = 1.0;
    }
    let y = Tensor::from_vec(onehot, (n, c), device)?;
    let p = logp.exp()?;
    let inter = (&p * &y)?.sum(0)?; // (C)
    let denom = (p.sum(0)? + y.sum(0)?)?;
    let dice = ((inter * 2.0)? + DICE_SMOOTH)?.div(&(denom + DICE_SMOOTH)?)?;
    let fg = dice.narrow(0, 1, c - 1)?.mean_all()?;
    let total = (&ce + (1.0 - &fg)?)?;
    Ok(Loss {
        cross_entropy: ce.to_dtype(DType::F32)?.to_scalar()?,
        soft_dice: fg.to_dtype(DType::F32)?.to_scalar()?,
        total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn perfect_logits_give_low_loss_and_wrong_ones_high() {
        // 2 voxels per class, 4 classes, one batch item of 1×2×4 voxels.
        let target: Vec<u32> = vec![0, 0, 1, 1, 2, 2, 3, 3];
        let mut good = vec![0f32; 4 * 8];
        let mut bad = vec![0f32; 4 * 8];
        for (v, &y) in target.iter().enumerate() {
            good[y as usize * 8 + v] = 20.0;
            bad[((y as usize + 1) % 4) * 8 + v] = 20.0;
        }
        let dev = Device::Cpu;
        let g = dice_ce_loss(&Tensor::from_vec(good, (1, 4, 1, 2, 4), &dev).unwrap(), &target).unwrap();
        let b = dice_ce_loss(&Tensor::from_vec(bad, (1, 4, 1, 2, 4), &dev).unwrap(), &target).unwrap();
        assert!(g.soft_dice > 0.99 && g.cross_entropy < 1e-3, "{} {}", g.soft_dice, g.cross_entropy);
        assert!(b.soft_dice <= 0.21 && b.cross_entropy > 10.0, "{} {}", b.soft_dice, b.cross_entropy);
        let gt: f32 = g.total.to_scalar().unwrap();
        assert!(gt < 0.02);
    }
}

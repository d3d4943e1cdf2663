//! NIfTI voxel datatypes: which codes Vasa reads, and how stored bytes become
//! numbers.

/// A NIfTI-1 `datatype` code Vasa can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    /// DT_UINT8 (2)
    U8,
    /// DT_INT16 (4)
    I16,
    /// DT_INT32 (8)
    I32,
    /// DT_FLOAT32 (16)
    F32,
    /// DT_FLOAT64 (64)
    F64,
    /// DT_INT8 (256)
    I8,
    /// DT_UINT16 (512)
    U16,
    /// DT_UINT32 (768)
    U32,
    /// DT_INT64 (1024)
    I64,
    /// DT_UINT64 (1280)
    U64,
}

impl DataType {
    /// The datatype of a header code, or `None` for codes Vasa does not read
    /// (complex, RGB, ...).
    pub fn from_code(code: i16) -> Option<Self> {
        Some(match code {
            2 => DataType::U8,
            4 => DataType::I16,
            8 => DataType::I32,
            16 => DataType::F32,
            64 => DataType::F64,
            256 => DataType::I8,
            512 => DataType::U16,
            768 => DataType::U32,
            1024 => DataType::I64,
            1280 => DataType::U64,
            _ => return None,
        })
    }

    /// The header code.
    pub fn code(self) -> i16 {
        match self {
            DataType::U8 => 2,
            DataType::I16 => 4,
            DataType::I32 => 8,
            DataType::F32 => 16,
            DataType::F64 => 64,
            DataType::I8 => 256,
            DataType::U16 => 512,
            DataType::U32 => 768,
            DataType::I64 => 1024,
            DataType::U64 => 1280,
        }
    }

    /// Bytes per voxel.
    pub fn size(self) -> usize {
        match self {
            DataType::U8 | DataType::I8 => 1,
            DataType::I16 | DataType::U16 => 2,
            DataType::I32 | DataType::U32 | DataType::F32 => 4,
            DataType::F64 | DataType::I64 | DataType::U64 => 8,
        }
    }

    /// Lower-case name, e.g. `int16`.
    pub fn name(self) -> &'static str {
        match self {
            DataType::U8 => "uint8",
            DataType::I16 => "int16",
            DataType::I32 => "int32",
            DataType::F32 => "float32",
            DataType::F64 => "float64",
            DataType::I8 => "int8",
            DataType::U16 => "uint16",
            DataType::U32 => "uint32",
            DataType::I64 => "int64",
            DataType::U64 => "uint64",
        }
    }

    /// Decodes one stored value (exactly `self.size()` bytes) to f64.
    #[inline]
    pub fn decode(self, b: &[u8], big_endian: bool) -> f64 {
        macro_rules! num {
            ($t:ty, $n:expr) => {{
                let mut a = [0u8; $n];
                a.copy_from_slice(&b[..$n]);
                (if big_endian { <$t>::from_be_bytes(a) } else { <$t>::from_le_bytes(a) }) as f64
            }};
        }
        match self {
            DataType::U8 => b[0] as f64,
            DataType::I8 => b[0] as i8 as f64,
            DataType::I16 => num!(i16, 2),
            DataType::U16 => num!(u16, 2),
            DataType::I32 => num!(i32, 4),
            DataType::U32 => num!(u32, 4),
            DataType::F32 => num!(f32, 4),
            DataType::F64 => num!(f64, 8),
            DataType::I64 => num!(i64, 8),
            DataType::U64 => num!(u64, 8),
        }
    }
}

/// A voxel type Vasa reads into and writes from NIfTI.
pub trait NiftiVoxel: bytemuck::Pod + Send + Sync + PartialOrd {
    /// The datatype this voxel is written as.
    const DATATYPE: DataType;
    /// Converts a scaled value into this type: `None` when the value cannot
    /// be represented faithfully (what that means depends on the type).
    fn from_scaled(v: f64) -> Option<Self>;
    /// True when a value [`NiftiVoxel::from_scaled`] refuses makes the whole
    /// file unreadable (labels); false when it is saturated and counted (images).
    const STRICT: bool;
    /// The closest representable value (NaN becomes the type's minimum).
    fn saturate(v: f64) -> Self;
}

impl NiftiVoxel for i16 {
    const DATATYPE: DataType = DataType::I16;
    /// CT values: rounded to the nearest HU; values outside i16 are refused.
    fn from_scaled(v: f64) -> Option<Self> {
        let r = v.round();
        (r.is_finite() && r >= i16::MIN as f64 && r <= i16::MAX as f64).then_some(r as i16)
    }
    const STRICT: bool = false;
    fn saturate(v: f64) -> Self {
        if v.is_nan() { i16::MIN } else { v.round().clamp(i16::MIN as f64, i16::MAX as f64) as i16 }
    }
}

impl NiftiVoxel for u8 {
    const DATATYPE: DataType = DataType::U8;
    /// Labels: only whole numbers 0..=255 are class ids.
    fn from_scaled(v: f64) -> Option<Self> {
        (v.fract() == 0.0 && (0.0..=255.0).contains(&v)).then_some(v as u8)
    }
    const STRICT: bool = true;
    fn saturate(v: f64) -> Self {
        if v.is_nan() { 0 } else { v.round().clamp(0.0, 255.0) as u8 }
    }
}

impl NiftiVoxel for f32 {
    const DATATYPE: DataType = DataType::F32;
    fn from_scaled(v: f64) -> Option<Self> {
        Some(v as f32)
    }
    const STRICT: bool = false;
    fn saturate(v: f64) -> Self {
        v as f32
    }
}

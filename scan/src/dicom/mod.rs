//! DICOM series loading (in progress)

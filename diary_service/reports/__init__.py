"""Reports: class, school and region figures, their CSV and XLSX exports, and the printable class journal."""

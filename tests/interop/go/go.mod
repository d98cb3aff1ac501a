module txova.local/interop

go 1.21

package docker

// The pause binaries are committed so that building localjobs needs no
// cross-compilation; regenerate them after changing pause/main.go.
//go:generate sh -c "cd pause && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -buildvcs=false -ldflags='-s -w' -o ../pause_linux_amd64.bin ."
//go:generate sh -c "cd pause && CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -trimpath -buildvcs=false -ldflags='-s -w' -o ../pause_linux_arm64.bin ."

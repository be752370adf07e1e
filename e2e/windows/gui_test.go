package windows

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestWindowsDemoWindowDraws opens the desktop app of the Windows build in
// demo mode under Xvfb and checks that its window draws: the screen
// changes from Xvfb's black to a picture with the app's many colours. The
// screenshot is written to $SECURESEND_SCREENSHOT_DIR/windows-demo.png
// when that is set (docs/screenshots/ keeps one).
func TestWindowsDemoWindowDraws(t *testing.T) {
	need(t)
	fbdir := t.TempDir()
	display, stop := startXvfb(t, fbdir)
	defer stop()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u := user{name: "demo", env: []string{"DISPLAY=" + display, "SECURESEND_DEMO=1",
		"SECURESEND_HOME=" + `C:\users\Demo Kaimahi\securesend`}}
	cmd := u.command(ctx)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cancel()
		<-exited
		stopWine()
	}()

	var img *image.RGBA
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("the app exited before drawing (%v):\n%s", err, out.Bytes())
		case <-time.After(2 * time.Second):
		}
		var err error
		img, err = readXWD(filepath.Join(fbdir, "Xvfb_screen0"))
		if err != nil {
			t.Fatal(err)
		}
		if colours(img) >= 64 {
			// Let the first frame settle (fonts, thumbnails).
			time.Sleep(3 * time.Second)
			if img, err = readXWD(filepath.Join(fbdir, "Xvfb_screen0")); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 2 minutes the screen has %d colours: the window did not draw\n%s", colours(img), out.Bytes())
		}
	}
	if n := colours(img); n < 64 {
		t.Errorf("the screen has %d colours after drawing", n)
	}
	t.Logf("the window drew: %d colours", colours(img))
	if dir := os.Getenv("SECURESEND_SCREENSHOT_DIR"); dir != "" {
		savePNG(t, filepath.Join(dir, "windows-demo.png"), img)
	} else {
		savePNG(t, filepath.Join(t.TempDir(), "windows-demo.png"), img)
	}
}

// startXvfb starts Xvfb on a free display, 1280x800x24, with its screen
// mirrored into fbdir as an XWD file.
func startXvfb(t *testing.T, fbdir string) (display string, stop func()) {
	t.Helper()
	for n := 90; n < 140; n++ {
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", n)); err == nil {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", n)); err == nil {
			continue
		}
		display = ":" + strconv.Itoa(n)
		cmd := exec.Command("Xvfb", display, "-screen", "0", "1280x800x24", "-fbdir", fbdir, "-nolisten", "tcp")
		var log bytes.Buffer
		cmd.Stderr = &log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 50; i++ {
			if c, err := net.Dial("unix", fmt.Sprintf("/tmp/.X11-unix/X%d", n)); err == nil {
				c.Close()
				return display, func() { cmd.Process.Kill(); cmd.Wait() }
			}
			time.Sleep(100 * time.Millisecond)
		}
		cmd.Process.Kill()
		cmd.Wait()
		t.Logf("Xvfb %s did not start: %s", display, log.Bytes())
	}
	t.Fatal("no free X display for Xvfb")
	return "", nil
}

// readXWD decodes the ZPixmap XWD file that Xvfb -fbdir keeps (24-bit
// colour in 32-bit pixels).
func readXWD(path string) (*image.RGBA, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("xwd: %w", err)
	}
	if len(b) < 100 {
		return nil, fmt.Errorf("xwd: %s is too short", path)
	}
	var hdr [25]uint32
	for i := range hdr {
		hdr[i] = binary.BigEndian.Uint32(b[4*i:])
	}
	headerSize, format, width, height := hdr[0], hdr[2], int(hdr[4]), int(hdr[5])
	byteOrder, bpp, bytesPerLine, ncolors := hdr[7], hdr[11], int(hdr[12]), int(hdr[19])
	if format != 2 || bpp != 32 {
		return nil, fmt.Errorf("xwd: format %d, %d bits per pixel; want ZPixmap, 32", format, bpp)
	}
	off := int(headerSize) + 12*ncolors
	if len(b) < off+bytesPerLine*height {
		return nil, fmt.Errorf("xwd: %s is truncated", path)
	}
	var order binary.ByteOrder = binary.LittleEndian
	if byteOrder == 1 {
		order = binary.BigEndian
	}
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	for y := 0; y < height; y++ {
		row := b[off+y*bytesPerLine:]
		for x := 0; x < width; x++ {
			p := order.Uint32(row[4*x:])
			img.SetRGBA(x, y, color.RGBA{uint8(p >> 16), uint8(p >> 8), uint8(p), 0xff})
		}
	}
	return img, nil
}

// colours counts the distinct colours in img, up to 1024.
func colours(img *image.RGBA) int {
	seen := map[[3]uint8]bool{}
	for i := 0; i+3 < len(img.Pix) && len(seen) < 1024; i += 4 {
		seen[[3]uint8{img.Pix[i], img.Pix[i+1], img.Pix[i+2]}] = true
	}
	return len(seen)
}

func savePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

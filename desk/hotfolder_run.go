package desk

import (
	"context"
	"errors"

	"github.com/securesend/securesend/send/hotfolder"
)

// WatchHotFolder runs the hot folder w until ctx ends (nil) or one of
// its subfolders, sent/ or failed/, cannot be used safely: then it stops
// and returns that *hotfolder.SubfolderError, since every round would
// refuse it again until someone fixes it. After every other round it
// makes a delivery attempt of the run's jobs that are due (RetryDue); a
// round's error (an unreadable folder, say) goes to warn, when set, and
// the next round tries again.
func (r *Run) WatchHotFolder(ctx context.Context, w *hotfolder.Watcher, warn func(error)) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var unsafe error
	w.Run(ctx, func(err error) { // returns ctx.Err(): stopped here or interrupted
		var se *hotfolder.SubfolderError
		switch {
		case errors.As(err, &se):
			unsafe = err
			stop()
			return
		case err != nil && warn != nil:
			warn(err)
		}
		r.RetryDue(ctx)
	})
	return unsafe
}

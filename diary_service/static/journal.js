// The journal's grid opens on today: its region scrolls sideways so that the column
// taking marks (or today's) stands at the right, with the lessons before it in view
// and the sticky name and average columns around it. Without JavaScript the grid
// starts at the period's first lesson and «Go to today» jumps there.
(function () {
  "use strict";
  var region = document.querySelector(".journal-region");
  if (!region) { return; }
  var target = region.querySelector("th.entry") || region.querySelector("th.today");
  if (!target) { return; }
  var name = region.querySelector("thead th.student");
  var average = region.querySelector("thead th.avg");
  // As many earlier lessons as fit, the column itself whole between the sticky ones.
  var fits = target.offsetLeft + target.offsetWidth + (average ? average.offsetWidth : 0) - region.clientWidth;
  var starts = target.offsetLeft - (name ? name.offsetWidth : 0);
  region.scrollLeft = Math.max(0, Math.min(fits, starts));
}());

// Read-along: while a recording of the page plays, the sentence being heard is highlighted, and
// "Read from here" buttons start the recording at a paragraph, list item or heading. Without
// this file the players are the browser's own and nothing else changes.
//
// Each player's metadata track (WebVTT) has one cue per spoken sentence; a cue's text is the id
// of the element that shows the sentence (a span.s, the h1, the "Last updated" row).
(function () {
  "use strict";

  var READING = "reading"; // the class of the element being heard
  // Blocks that get a button: paragraphs, list items and headings. Table cells and definition
  // lists are highlighted but get none: a button per cell would bury the table.
  var BLOCKS = "p, li, h2, h3, h4, h5, h6";
  var HEADINGS = /^H[2-6]$/;

  var players = Array.prototype.filter.call(document.querySelectorAll("audio"), function (a) {
    return a.querySelector("track[kind=metadata]");
  });
  if (!players.length) return;

  var marked = null; // the element highlighted now
  var lastUsed = null; // the player the listener started last: "Read from here" uses it
  var engaged = []; // players the listener has started or moved: only these move the highlight

  var engage = function (audio) {
    if (engaged.indexOf(audio) === -1) engaged.push(audio);
  };

  var trackOf = function (audio) {
    return audio.querySelector("track[kind=metadata]");
  };

  // Run `then` once the track's cues are in (at once if they already are).
  var whenLoaded = function (audio, then) {
    var element = trackOf(audio);
    if (element.readyState === 2) then();
    else element.addEventListener("load", then, { once: true });
  };

  // The sticky quick-exit bar covers the top of the window: a sentence under it is out of view.
  var visibleTop = function () {
    var bar = document.querySelector("[data-quick-exit-root]");
    return bar ? Math.max(0, bar.getBoundingClientRect().bottom) : 0;
  };

  // Scroll only when the sentence is out of view, so a listener reading along is not jolted.
  var keepInView = function (element) {
    var box = element.getBoundingClientRect();
    if (box.top >= visibleTop() && box.bottom <= window.innerHeight) return;
    var still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    element.scrollIntoView({ block: "center", behavior: still ? "auto" : "smooth" });
  };

  var mark = function (element) {
    if (element === marked) return;
    if (marked) marked.classList.remove(READING);
    marked = element;
    if (!element) return;
    element.classList.add(READING);
    keepInView(element);
  };

  // Highlight what the player's active cue names. No active cue (a gap, before the first): the
  // last highlight stays, rather than flickering off and on between sentences.
  var showActive = function (audio) {
    var cues = trackOf(audio).track.activeCues;
    if (!cues || !cues.length) return;
    var element = document.getElementById(cues[cues.length - 1].text.trim());
    if (element) mark(element);
  };

  var cueOf = function (audio, id) {
    var cues = trackOf(audio).track.cues || [];
    for (var i = 0; i < cues.length; i += 1) {
      if (cues[i].text.trim() === id) return cues[i];
    }
    return null;
  };

  var follow = function (audio) {
    var track = trackOf(audio).track;
    track.mode = "hidden"; // cues load and fire cuechange, and nothing is drawn on the player
    track.addEventListener("cuechange", function () {
      // The cues become active at time 0 as soon as they load: not yet a reading.
      if (engaged.indexOf(audio) !== -1) showActive(audio);
    });
    audio.addEventListener("seeking", function () {
      engage(audio);
    });
    audio.addEventListener("play", function () {
      engage(audio);
      lastUsed = audio;
      // The two sets of players are the same recordings: one voice at a time.
      players.forEach(function (other) {
        if (other !== audio) other.pause();
      });
      showActive(audio); // the first cue was active before playing: no cuechange for it
    });
    // Paused, the highlight stays where the listener stopped; at the end it goes.
    audio.addEventListener("ended", function () {
      mark(null);
    });
  };

  // Start the player last used (else the first, normal pace) at the block's first sentence.
  var readFrom = function (sentences) {
    var audio = lastUsed || players[0];
    whenLoaded(audio, function () {
      for (var i = 0; i < sentences.length; i += 1) {
        var cue = cueOf(audio, sentences[i].id);
        if (cue) {
          engage(audio);
          audio.currentTime = cue.startTime;
          mark(sentences[i]);
          var playing = audio.play();
          if (playing) playing.catch(function () {}); // refused: the highlight still shows where
          return;
        }
      }
    });
  };

  var button = function (label, sentences) {
    var made = document.createElement("button");
    made.type = "button";
    made.className = "read-from";
    made.textContent = label;
    // Every button says the same: the sentence it starts at tells them apart.
    made.setAttribute("aria-describedby", sentences[0].id);
    made.addEventListener("click", function () {
      readFrom(sentences);
    });
    return made;
  };

  // The spoken sentences of each block in the article (not its navigation), in page order.
  var spokenBlocks = function (article) {
    var blocks = new Map();
    article.querySelectorAll("span.s[id]").forEach(function (span) {
      var block = span.closest(BLOCKS);
      if (!block || !article.contains(block) || span.closest("nav, .listen")) return;
      // A list item of several short paragraphs (easy-to-read pages): one button for the item.
      if (block.tagName === "P" && block.parentElement.tagName === "LI") {
        block = block.parentElement;
      }
      if (!cueOf(players[0], span.id)) return;
      if (!blocks.has(block)) blocks.set(block, []);
      blocks.get(block).push(span);
    });
    return blocks;
  };

  // A button at the start of each block: "from here" is where the button is. A heading's own
  // button would become part of the heading's name, so a heading's button is the first one of
  // its section, at the start of the block after it, and reads from the heading; a heading with
  // no block after it has one of its own on the line below.
  var addButtons = function () {
    var holder = players[0].closest("[data-read-from]");
    var article = players[0].closest("article");
    if (!holder || !article) return;
    var label = holder.getAttribute("data-read-from");
    var heading = null; // the heading (or first of several) whose section has no button yet
    var headingSentences = [];
    spokenBlocks(article).forEach(function (sentences, block) {
      if (HEADINGS.test(block.tagName)) {
        if (!heading) heading = block;
        headingSentences = headingSentences.concat(sentences);
        return;
      }
      sentences[0].before(button(label, headingSentences.concat(sentences)), " ");
      heading = null;
      headingSentences = [];
    });
    if (heading) heading.after(button(label, headingSentences));
  };

  players.forEach(follow);
  whenLoaded(players[0], addButtons);
})();

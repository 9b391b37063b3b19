// A 5×7 pixel font for the labels of the pictures the library writes (a piano roll's pitch names
// and seconds): PNGs are drawn pixel by pixel in the core, in Node and in browsers alike, so no
// system font is involved. Only the characters the labels use are defined; others are refused.

const GLYPH_WIDTH = 5, GLYPH_HEIGHT = 7, ADVANCE = GLYPH_WIDTH + 1;

// Each glyph is 7 rows of 5 columns, '#' for ink.
const GLYPHS: Readonly<Record<string, readonly string[]>> = {
  '0': [' ### ', '#   #', '#  ##', '# # #', '##  #', '#   #', ' ### '],
  '1': ['  #  ', ' ##  ', '  #  ', '  #  ', '  #  ', '  #  ', ' ### '],
  '2': [' ### ', '#   #', '    #', '   # ', '  #  ', ' #   ', '#####'],
  '3': ['#####', '   # ', '  #  ', '   # ', '    #', '#   #', ' ### '],
  '4': ['   # ', '  ## ', ' # # ', '#  # ', '#####', '   # ', '   # '],
  '5': ['#####', '#    ', '#### ', '    #', '    #', '#   #', ' ### '],
  '6': ['  ## ', ' #   ', '#    ', '#### ', '#   #', '#   #', ' ### '],
  '7': ['#####', '    #', '   # ', '  #  ', ' #   ', ' #   ', ' #   '],
  '8': [' ### ', '#   #', '#   #', ' ### ', '#   #', '#   #', ' ### '],
  '9': [' ### ', '#   #', '#   #', ' ####', '    #', '   # ', ' ##  '],
  '.': ['     ', '     ', '     ', '     ', '     ', ' ##  ', ' ##  '],
  '-': ['     ', '     ', '     ', '#####', '     ', '     ', '     '],
  ' ': ['     ', '     ', '     ', '     ', '     ', '     ', '     '],
  C: [' ### ', '#   #', '#    ', '#    ', '#    ', '#   #', ' ### '],
  s: ['     ', '     ', ' ####', '#    ', ' ### ', '    #', '#### '],
};

/** The pixel size of `text` at `scale`: 6 pixels per character (5 and a gap), 7 high. */
export function textSize(text: string, scale = 1): { width: number; height: number } {
  return { width: Math.max(0, text.length * ADVANCE - 1) * scale, height: GLYPH_HEIGHT * scale };
}

/**
 * Draws `text` with its top-left corner at (x, y) through `put` (which clips), each font pixel a
 * scale×scale square. A character the font lacks is a RangeError (labels are the library's own).
 */
export function drawText(put: (x: number, y: number) => void, text: string, x: number, y: number, scale = 1): void {
  [...text].forEach((ch, i) => {
    const glyph = GLYPHS[ch];
    if (!glyph) throw new RangeError(`drawText: no glyph for '${ch}' in '${text}'`);
    for (let r = 0; r < GLYPH_HEIGHT; r++) {
      for (let c = 0; c < GLYPH_WIDTH; c++) {
        if (glyph[r]![c] !== '#') continue;
        for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) put(x + (i * ADVANCE + c) * scale + dx, y + r * scale + dy);
      }
    }
  });
}

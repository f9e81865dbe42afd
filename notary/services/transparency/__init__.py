"""Each platform's public record (figures and notices), its Atom feed, and following platforms."""

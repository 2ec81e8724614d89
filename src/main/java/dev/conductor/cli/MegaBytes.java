package dev.conductor.cli;

import picocli.CommandLine;

/** {@code --max-message-size MB}: a positive number of MiB (fractions allowed), as bytes. */
final class MegaBytes implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        double mb;
        try {
            mb = Double.parseDouble(value.strip());
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a number of megabytes");
        }
        if (!(mb > 0) || mb > 2047) {
            throw new CommandLine.TypeConversionException("'" + value + "' must be more than 0 and at most 2047 (MB)");
        }
        return (long) (mb * 1024 * 1024);
    }
}

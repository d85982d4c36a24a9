package dev.bramble.daemon;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The daemon's packages depend on each other in one direction: a reader can take each on its own, and a change to
 * one cannot come back around to it. The top package composes them and nothing below reaches up into it.
 */
class PackageCyclesTest {
    private static final JavaClasses DAEMON = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.bramble.daemon");

    @Test
    void thePackagesBelowTheDaemonHaveNoCycles() {
        slices().matching("dev.bramble.daemon.(*)..").should().beFreeOfCycles().check(DAEMON);
    }

    @Test
    void onlyTheLocalCommandReachesUpIntoTheTopPackage() {
        // bramble local runs a whole daemon in the foreground: it composes the top package, as Main does
        noClasses().that().resideOutsideOfPackages("dev.bramble.daemon", "dev.bramble.daemon.local..")
                .and().resideInAPackage("dev.bramble.daemon..")
                .should().dependOnClassesThat().resideInAPackage("dev.bramble.daemon")
                .check(DAEMON);
    }
}

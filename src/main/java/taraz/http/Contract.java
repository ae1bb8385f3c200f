package taraz.http;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.ThreadingModel;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.openapi.contract.OpenAPIContract;

/**
 * The HTTP contract, {@code openapi.yaml}, compiled once at start into the checks every request goes through: its
 * parameters and headers ({@link RequestParams}) and its body ({@link RequestBodies}).
 */
public record Contract(RequestParams params, RequestBodies bodies) {

    /**
     * Reads openapi.yaml and compiles each operation's schemas. That is seconds of CPU at start on a busy machine, so
     * it runs on a worker context of its own (a worker verticle, gone when done): on an event loop it would hold that
     * loop past Vert.x's blocked-thread limit while the gateway starts its other parts beside it.
     */
    public static Future<Contract> load(Vertx vertx, long amountRialsMax) {
        Promise<Contract> loaded = Promise.promise();
        return vertx.deployVerticle(new VerticleBase() {
                    @Override
                    public Future<?> start() {
                        return OpenAPIContract.from(vertx, "openapi.yaml")
                                .map(contract -> new Contract(RequestParams.compile(contract),
                                        RequestBodies.compile(contract, amountRialsMax)))
                                .onComplete(loaded);
                    }
                }, new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER))
                .compose(vertx::undeploy)
                .compose(undeployed -> loaded.future());
    }
}
